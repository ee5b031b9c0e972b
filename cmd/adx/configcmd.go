package main

import (
	"fmt"
	"io"

	"github.com/adx-exchange/adx/config"
)

func init() {
	register("config", "check a config file, or print the effective config", runConfig)
	register("version", "print the version and build information", runVersion)
}

func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintf(stderr, "Usage:\n  adx config check FILE    validate FILE; exit 1 naming the key and problem\n  adx config print [flags]  print the effective config (flags, ADX_* env, file, defaults), secrets redacted\n")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "check":
		fs := newFlagSet("config check", "FILE", "Validate a config file; exit 1 with the key and problem.", stderr)
		if code, ok := parseFlags(fs, args[1:]); !ok {
			return code
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return 2
		}
		cfg, err := config.Load(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "adx: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok (%d demand partners, %d supply partners)\n", fs.Arg(0), len(cfg.Demand), len(cfg.Supply))
		return 0
	case "print":
		fs := newFlagSet("config print", "", "Print the effective config as YAML, secrets redacted.", stderr)
		cfg, code, ok := loadConfig(fs, args[1:])
		if !ok {
			return code
		}
		if err := cfg.Print(stdout); err != nil {
			fmt.Fprintf(stderr, "adx: %v\n", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "adx config: unknown verb %q; want check or print\n", args[0])
		return 2
	}
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", "Print the version and build information.", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	bi := readBuildInfo()
	fmt.Fprintf(stdout, "adx %s (%s", bi.Version, bi.GoVersion)
	if bi.Revision != "" {
		fmt.Fprintf(stdout, ", revision %s", bi.Revision)
		if bi.Modified {
			fmt.Fprint(stdout, "+modified")
		}
	}
	fmt.Fprintln(stdout, ")")
	return 0
}
