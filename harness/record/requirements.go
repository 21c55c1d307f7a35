package record

// ChecksOf is the campaign's checks as a run record carries them, parsed
// again (metric and operator are not stored).
func ChecksOf(r *RunRecord) []Check {
	out := make([]Check, 0, len(r.Checks))
	for _, cr := range r.Checks {
		c, err := ParseCheck(cr.Expr, nil)
		if err != nil {
			c = cr.Check
		}
		c.Requirement = cr.Requirement
		out = append(out, c)
	}
	return out
}
