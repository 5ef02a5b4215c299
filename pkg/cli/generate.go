package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/alecthomas/kong"
)

// generate prints what --generate asks for: the man page or a completion
// script, from the parsed model, so that neither can miss a flag.
func generate(cmd Command, app *kong.Application, opts *Options, stdout, stderr io.Writer) int {
	name := cmd.Name
	if opts.GenerateName != "" {
		name = opts.GenerateName
	}
	var b bytes.Buffer
	var err error
	switch opts.Generate {
	case "man":
		var date string
		if date, err = docDate(); err == nil {
			err = writeManPage(&b, cmd, app, manDoc{name: name, version: cmd.Version, date: date, sibling: opts.GenerateAlso})
		}
	case "bash", "zsh", "fish":
		err = writeCompletion(&b, opts.Generate, name, app)
	default:
		fmt.Fprintf(stderr, "%s: error: --generate %q: give man, bash, zsh or fish\n", cmd.Name, opts.Generate)
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: --generate %s: %v\n", cmd.Name, opts.Generate, err)
		return ExitRuntime
	}
	if _, err := stdout.Write(b.Bytes()); err != nil {
		fmt.Fprintf(stderr, "%s: --generate %s: %v\n", cmd.Name, opts.Generate, err)
		return ExitRuntime
	}
	return 0
}

// docDate is the man page's date: SOURCE_DATE_EPOCH's (the commit's, as
// the Makefile sets it) so that the same commit gives the same page.
func docDate() (string, error) {
	t := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		t = time.Unix(n, 0)
	}
	return t.UTC().Format("2006-01-02"), nil
}
