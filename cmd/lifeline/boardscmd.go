package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"lifeline/boards"
)

func cmdBoards(args []string, stdout, stderr io.Writer) error {
	if _, err := parse(newFlags("boards", stderr), args, 0, 0); err != nil {
		return err
	}
	all, err := boards.All()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDRIVER\tDESCRIPTION")
	for _, b := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Name, b.Driver, b.Description)
	}
	return tw.Flush()
}
