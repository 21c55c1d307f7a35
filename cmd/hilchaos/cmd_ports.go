package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness/report"
	"github.com/hilchaos/hilchaos/targets/serial"
	_ "github.com/hilchaos/hilchaos/targets/tcp" // the tcp:// scheme (serial:// comes with the import above)
)

// listPorts is the port enumerator; tests replace it.
var listPorts = serial.Ports

func (a *app) portsCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ports",
		Short: "List serial ports with their USB identity",
		Long: `List the serial ports of this machine with their USB vendor and product
id, serial number and product name: what a serial://usb/VID:PID[/SERIAL]
target URL names. No ports gives an empty table, not an error.
` + exitStatusHelp,
		Example: `  hilchaos ports
  hilchaos ports --format json`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return withCode(ExitInvalid, fmt.Errorf("--format %q: want table or json", format))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ports, err := listPorts()
			if err != nil {
				return withCode(ExitInfra, err)
			}
			if format == "json" {
				return writeJSON(a.stdout, ports)
			}
			t := report.NewTable(a.stdout)
			t.Header("port", "usb", "vid", "pid", "serial", "product", "target url")
			for _, p := range ports {
				usb, url := "no", "serial://"+p.Name
				if p.USB {
					usb, url = "yes", "serial://usb/"+p.VID+":"+p.PID
					if p.Serial != "" {
						url += "/" + p.Serial
					}
				}
				t.Append(p.Name, usb, p.VID, p.PID, p.Serial, p.Product, url)
			}
			t.Render()
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	return cmd
}
