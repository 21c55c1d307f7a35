package serial

// FastPath reports whether t reads through its second descriptor on Go's
// poller rather than the library's select+read path.
func FastPath(t *Target) bool {
	c := t.Conn()
	if c == nil {
		return false
	}
	return c.(*port).rd != nil
}
