package main

import (
	"fmt"
	"io"
	"os"

	"github.com/adx-exchange/adx/events"
)

func init() {
	register("events", "summarize event files: counts, rates and revenue per DSP and SSP", runEvents)
}

func runEvents(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "report" {
		fmt.Fprintf(stderr, "Usage:\n  adx events report [-json] FILE...   summarize event files (JSON lines, gzip too; - is stdin)\n")
		if len(args) > 0 && isHelp(args[0]) {
			return 0
		}
		return 2
	}
	return runEventsReport(args[1:], os.Stdin, stdout, stderr)
}

func runEventsReport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("events report", "FILE...",
		"Summarize event files for an operator: the time range, counts per event type,\n"+
			"bids, wins, bills and losses per DSP with their rates, and gross, net and margin\n"+
			"per DSP, per SSP and per pair, per currency. Events are deduplicated by id;\n"+
			"malformed lines are counted and skipped. A FILE may be gzip-compressed;\n"+
			"- reads stdin. The header of the text report defines every figure; -json\n"+
			"prints the same figures as one JSON document (events.Report).", stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of text tables")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var s events.Summary
	status := 0
	for _, name := range fs.Args() {
		if err := summarizeFile(name, stdin, &s); err != nil {
			// Report what could be read; the exit code says it is partial.
			fmt.Fprintf(stderr, "adx: %v\n", err)
			status = 1
		}
	}
	write := s.WriteText
	if *asJSON {
		write = s.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintf(stderr, "adx: %v\n", err)
		return 1
	}
	return status
}

func summarizeFile(name string, stdin io.Reader, s *events.Summary) error {
	if name == "-" {
		if err := events.Summarize(stdin, s); err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("cannot open event file: %w", err)
	}
	defer f.Close()
	if err := events.Summarize(f, s); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
