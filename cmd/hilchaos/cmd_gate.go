package main

import "github.com/spf13/cobra"

func (a *app) gateCommand() *cobra.Command {
	return &cobra.Command{Use: "gate", Short: "Compare a candidate result set with a baseline", Hidden: true}
}
