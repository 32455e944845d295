package main

import "github.com/spf13/cobra"

func newLabTestCmd(dir *string) *cobra.Command {
	return &cobra.Command{Use: "test FILE", Hidden: true}
}
