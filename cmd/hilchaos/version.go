package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hilchaos/hilchaos/harness"
	"github.com/hilchaos/hilchaos/targets"
)

// versionText is what --version prints: the harness version, the Go
// version and the VCS revision the binary was built from.
func versionText(info *debug.BuildInfo, ok bool) string {
	rev, modified, when := "unknown (built without VCS stamping: -buildvcs=false or not from a checkout)", "", ""
	goVersion := runtime.Version()
	if ok {
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			case "vcs.time":
				when = ", committed " + s.Value
			}
		}
	}
	return fmt.Sprintf("hilchaos %s\n%s %s/%s\nrevision %s%s%s\n", harness.Version, goVersion, runtime.GOOS, runtime.GOARCH, rev, modified, when)
}

// setVersion makes --version print versionText.
func setVersion(root *cobra.Command) {
	info, ok := debug.ReadBuildInfo()
	root.Version = harness.Version
	root.SetVersionTemplate(versionText(info, ok))
}

// campaignExts are the campaign file types, for completion.
var campaignExts = []string{"yaml", "yml", "toml", "json"}

// targetExamples are what --target completes to: each scheme, with the
// values a sim target takes, and the serial ports this machine has.
func targetExamples(toComplete string) []string {
	out := []string{
		"sim://pathfinder?mutex=none", "sim://pathfinder?mutex=inherit", "sim://pathfinder?mutex=ceiling", "sim:///",
		"tcp://", "qemu://mps2-an385?fw=",
	}
	for _, pat := range []string{"/dev/ttyACM*", "/dev/ttyUSB*", "/dev/pts/[0-9]*"} {
		ports, _ := filepath.Glob(pat)
		for _, p := range ports {
			out = append(out, "serial://"+p+"?baud=115200")
		}
	}
	out = append(out, "serial:///dev/", "serial://usb/")
	var keep []string
	known := map[string]bool{}
	for _, s := range targets.Schemes() {
		known[s] = true
	}
	for _, x := range out {
		scheme, _, _ := strings.Cut(x, "://")
		if known[scheme] && strings.HasPrefix(x, toComplete) {
			keep = append(keep, x)
		}
	}
	return keep
}

// addCompletions makes shell completion offer campaign files, results
// directories, --format values and --target schemes.
func addCompletions(root *cobra.Command) {
	files := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return campaignExts, cobra.ShellCompDirectiveFilterFileExt
	}
	dirs := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	formats := map[string][]string{"run": {"table", "json"}, "report": {"table", "json"}, "gate": {"table", "json", "markdown"}}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch c.Name() {
		case "run", "lint":
			c.ValidArgsFunction = files
		case "report":
			c.ValidArgsFunction = dirs
		}
		if f := c.Flags().Lookup("format"); f != nil {
			vals := formats[c.Name()]
			_ = c.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return vals, cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flags().Lookup("target") != nil {
			_ = c.RegisterFlagCompletionFunc("target", func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				return targetExamples(toComplete), cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flags().Lookup("out") != nil {
			_ = c.RegisterFlagCompletionFunc("out", dirs)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
