package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness"
)

func (a *app) campaignCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "campaign",
		Short: "Work with campaign files",
	}
	cmd.AddCommand(a.lintCommand())
	return cmd
}

func (a *app) lintCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lint FILE...",
		Short: "Validate campaign files without running anything",
		Long: `Load and validate each campaign file exactly as run does (without command
line or environment overrides) and print every problem, one per line, as
FILE: FIELD: REASON. Nothing connects to a target.

EXIT STATUS
  0  every file is a valid campaign
  2  at least one file has a problem`,
		Example: `  hilchaos campaign lint campaigns/*.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, path := range args {
				c, err := harness.LoadCampaign(path, harness.Overrides{})
				if err == nil {
					fmt.Fprintf(a.stdout, "%s: ok (%s, %d run(s))\n", path, c.Name, c.Runs())
					continue
				}
				bad++
				var inv *harness.InvalidError
				if errors.As(err, &inv) {
					for _, p := range inv.Problems {
						fmt.Fprintf(a.stdout, "%s: %v\n", path, p)
					}
					continue
				}
				fmt.Fprintf(a.stdout, "%s: %v\n", path, err)
			}
			if bad > 0 {
				return withCode(ExitInvalid, fmt.Errorf("%d of %d campaign file(s) invalid", bad, len(args)))
			}
			return nil
		},
	}
}
