package cli

import "github.com/spf13/cobra"

func benchCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "Generate the benchmark site, build it and print the figures", Hidden: true}
}
