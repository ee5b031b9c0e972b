package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/adx-exchange/adx/devicedb"
	"github.com/prebid/openrtb/v20/openrtb2"
)

func init() {
	register("devicedb", "compile, check and query device databases", runDeviceDB)
}

const deviceDBAbout = `Work with device databases (devicedb/FORMAT.md).

  adx devicedb compile [-importPlay FILE] -o OUT SRC
      validate the YAML source SRC (or a WURFL XML file, by its .xml name),
      optionally add the Google Play supported-devices list, and write a
      snapshot to OUT
  adx devicedb check FILE
      validate a snapshot or a source (by content) and print a summary
  adx devicedb lookup [-db FILE] [-sua JSON] "UA"
      print the match as JSON; without -db the embedded default database`

func runDeviceDB(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: adx devicedb compile|check|lookup [flags] args\n\n%s\n", deviceDBAbout)
		return 2
	}
	switch args[0] {
	case "compile":
		return runDeviceDBCompile(args[1:], stdout, stderr)
	case "check":
		return runDeviceDBCheck(args[1:], stdout, stderr)
	case "lookup":
		return runDeviceDBLookup(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, deviceDBAbout)
		return 0
	}
	fmt.Fprintf(stderr, "adx devicedb: unknown command %q\n\n%s\n", args[0], deviceDBAbout)
	return 2
}

func runDeviceDBCompile(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("devicedb compile", "SRC", "Validate a device source and write its snapshot.", stderr)
	out := fs.String("o", "", "output snapshot `file` (required)")
	play := fs.String("importPlay", "", "Google Play supported-devices `file` (JSON, optionally .gz) to add (default: none)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *out == "" {
		fmt.Fprintf(stderr, "adx devicedb compile: need -o OUT and one SRC\n")
		return 2
	}
	src, err := devicedb.ReadSourceFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "adx devicedb compile: %v\n", err)
		return 1
	}
	if *play != "" {
		n, err := devicedb.ImportPlayFile(src, *play)
		if err != nil {
			fmt.Fprintf(stderr, "adx devicedb compile: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "imported %d devices from %s\n", n, *play)
	}
	db, err := devicedb.Compile(src)
	if err != nil {
		fmt.Fprintf(stderr, "adx devicedb compile: %s: %v\n", fs.Arg(0), err)
		return 1
	}
	data, err := db.MarshalBinary()
	if err == nil {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "adx devicedb compile: cannot write %q: %v\n", *out, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d devices, %d bytes, version %q\n", *out, db.Len(), len(data), db.Version())
	return 0
}

func runDeviceDBCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("devicedb check", "FILE", "Validate a snapshot or a source file and exit.", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "adx devicedb check: need one FILE\n")
		return 2
	}
	db, err := devicedb.OpenFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "adx devicedb check: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok, %d devices, version %q\n", fs.Arg(0), db.Len(), db.Version())
	return 0
}

func runDeviceDBLookup(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("devicedb lookup", `"UA"`, "Match a User-Agent (and optional sua JSON) and print the result as JSON.", stderr)
	dbFile := fs.String("db", "", "snapshot or source `file` (default: the embedded database)")
	suaJSON := fs.String("sua", "", `OpenRTB 2.6 device.sua as JSON, e.g. {"model":"SM-S918B","mobile":1} (default: none)`)
	screen := fs.String("screen", "", "device.w and device.h as `WxH`, e.g. 820x1180 (default: none)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "adx devicedb lookup: need one UA argument\n")
		return 2
	}
	var db *devicedb.DB
	var err error
	if *dbFile != "" {
		db, err = devicedb.OpenFile(*dbFile)
	} else {
		db, err = devicedb.Default()
	}
	if err != nil {
		fmt.Fprintf(stderr, "adx devicedb lookup: %v\n", err)
		return 1
	}
	ev := devicedb.Evidence{UA: fs.Arg(0)}
	if *screen != "" {
		w, h, ok := strings.Cut(*screen, "x")
		var errW, errH error
		ev.W, errW = strconv.ParseInt(w, 10, 64)
		ev.H, errH = strconv.ParseInt(h, 10, 64)
		if !ok || errW != nil || errH != nil || ev.W <= 0 || ev.H <= 0 {
			fmt.Fprintf(stderr, "adx devicedb lookup: -screen %q is not WxH, e.g. 820x1180\n", *screen)
			return 2
		}
	}
	if *suaJSON != "" {
		ev.SUA = new(openrtb2.UserAgent)
		if err := json.Unmarshal([]byte(*suaJSON), ev.SUA); err != nil {
			fmt.Fprintf(stderr, "adx devicedb lookup: cannot parse -sua: %v\n", err)
			return 2
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(db.Lookup(ev)); err != nil {
		fmt.Fprintf(stderr, "adx devicedb lookup: %v\n", err)
		return 1
	}
	return 0
}
