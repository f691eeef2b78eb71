package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"lifeline/boards"
)

func cmdBoards(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("boards", stderr)
	dir := fs.String("dir", boards.DefaultDir, "directory of more board files (NAME.board)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	all, err := boards.AllIn(*dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDRIVER\tDESCRIPTION\tKEYS")
	for _, b := range all {
		var keys []string
		for _, k := range b.Keys {
			keys = append(keys, k.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Name, b.Driver, b.Description, strings.Join(keys, " "))
	}
	return tw.Flush()
}
