package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness/farm"
	"github.com/hilchaos/hilchaos/harness/report"
)

func (a *app) rigsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rigs",
		Short: "Check a rig inventory (rigs.yaml)",
	}
	var labels string
	var wait time.Duration
	check := &cobra.Command{
		Use:   "check RIGS.yaml",
		Short: "Open every rig of an inventory, read its banner and print a health table",
		Long: `Validate a rig inventory, then open every rig (all at once), read the BOOT
banner and the task table it sends (asking a silent board to reboot once),
and print one row per rig: the firmware it runs, its build id, its USB
identity, or why it could not be reached.

The inventory format is in docs/FARM.md.
` + exitStatusHelp,
		Example: `  hilchaos rigs check lab/rigs.yaml
  hilchaos rigs check lab/rigs.yaml --labels board=mps2-an385`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := loadInventory(args[0])
			if err != nil {
				return err
			}
			sel, err := farm.ParseSelector(labels)
			if err != nil {
				return withCode(ExitInvalid, fmt.Errorf("--labels: %w", err))
			}
			rigs := inv.Select(sel)
			if len(rigs) == 0 {
				return withCode(ExitInvalid, fmt.Errorf("%s: no rig carries the labels %s", args[0], sel))
			}
			return a.rigsCheck(cmd.Context(), rigs, wait)
		},
	}
	check.Flags().StringVar(&labels, "labels", "", "check only the rigs carrying these labels (board=mps2-an385,rev=b)")
	check.Flags().DurationVar(&wait, "wait", 3*time.Second, "how long to wait for a banner before asking the board to reboot, and again after")
	cmd.AddCommand(check)
	return cmd
}

func (a *app) rigsCheck(ctx context.Context, rigs []farm.Rig, wait time.Duration) error {
	type result struct {
		b   *farm.Banner
		err error
	}
	res := make([]result, len(rigs))
	var wg sync.WaitGroup
	for i, r := range rigs {
		wg.Go(func() {
			b, err := farm.Probe(ctx, r.Target, wait)
			res[i] = result{b, err}
		})
	}
	wg.Wait()
	t := report.NewTable(a.stdout)
	t.Header("rig", "target", "labels", "state", "firmware", "build", "boot", "tasks", "usb", "problem")
	bad := 0
	for i, r := range rigs {
		var labels []string
		for _, k := range sortedLabelKeys(r.Labels) {
			labels = append(labels, k+"="+r.Labels[k])
		}
		row := []any{r.Name, r.Target, strings.Join(labels, ",")}
		if err := res[i].err; err != nil {
			bad++
			row = append(row, "DOWN", "", "", "", "", "", err.Error())
		} else {
			b := res[i].b
			boot := b.Reason
			if b.Reset {
				boot += " (after RS)"
			}
			usb := ""
			if id := b.Identity; id.VID != "" {
				usb = id.VID + ":" + id.PID
				if id.Serial != "" {
					usb += "/" + id.Serial
				}
			}
			row = append(row, "ok", b.Name+" "+b.Version, b.Build, boot, fmt.Sprintf("%d tasks, %d locks", b.Tasks, b.Locks), usb, "")
		}
		_ = t.Append(row...)
	}
	_ = t.Render()
	fmt.Fprintf(a.stdout, "%d of %d rig(s) healthy\n", len(rigs)-bad, len(rigs))
	if bad > 0 {
		return withCode(ExitInfra, errors.New(plural(bad, "rig")+" could not be reached"))
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func sortedLabelKeys(m map[string]string) []string {
	sel := farm.Selector(m)
	var keys []string
	for _, kv := range strings.Split(sel.String(), ",") {
		if k, _, ok := strings.Cut(kv, "="); ok {
			keys = append(keys, k)
		}
	}
	return keys
}
