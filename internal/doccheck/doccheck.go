// Package doccheck checks a command's generated documents against its
// --help: every flag kong lists must have an OPTIONS entry and an example
// in the man page, and the page must render without groff warnings.
package doccheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// longFlag matches a flag's line in kong's --help flag list (indented by
// 2, or 6 without a short flag; wrapped help lines are indented further).
var longFlag = regexp.MustCompile(`(?m)^(?:  -\S, |      )--([a-z0-9-]+)`)

// HelpFlags returns the long names of the flags --help lists.
func HelpFlags(help string) []string {
	var out []string
	if i := strings.Index(help, "\nFlags:\n"); i >= 0 {
		help = help[i:]
	}
	for _, m := range longFlag.FindAllStringSubmatch(help, -1) {
		out = append(out, m[1])
	}
	return out
}

// section returns the text of a man page's section (from .SH NAME to the
// next .SH).
func section(page, name string) string {
	i := strings.Index(page, "\n.SH "+name+"\n")
	if i < 0 {
		return ""
	}
	rest := page[i+len(name)+6:]
	if j := strings.Index(rest, "\n.SH "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// roffFlag is how a page spells --name (hyphens escaped).
func roffFlag(name string) string { return strings.ReplaceAll("--"+name, "-", `\-`) }

// ManPageGaps returns what the man page misses: a flag of --help without an
// OPTIONS entry, or (all but --help itself) without an example, and any
// section bcc's pages have that is missing.
func ManPageGaps(help, page string) []string {
	var gaps []string
	for _, s := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "REQUIREMENTS", "OPTIONS", "EXAMPLES", "FIELDS", "OVERHEAD", "EXIT STATUS", "SEE ALSO"} {
		if section(page, s) == "" {
			gaps = append(gaps, "no "+s+" section")
		}
	}
	options, examples := section(page, "OPTIONS"), section(page, "EXAMPLES")
	flags := HelpFlags(help)
	if len(flags) == 0 {
		gaps = append(gaps, "no flag found in --help")
	}
	for _, f := range flags {
		if !strings.Contains(options, `\fB`+roffFlag(f)+`\fR`) {
			gaps = append(gaps, "--"+f+" has no OPTIONS entry")
		}
		if f == "help" {
			continue
		}
		short := shortOf(help, f)
		if !strings.Contains(examples, roffFlag(f)) && (short == "" || !regexp.MustCompile(`\\-`+regexp.QuoteMeta(short)+`\b`).MatchString(examples)) {
			gaps = append(gaps, "--"+f+" has no example")
		}
	}
	return gaps
}

// shortOf returns the short flag --help pairs with --name, if any.
func shortOf(help, name string) string {
	m := regexp.MustCompile(`(?m)^\s+-(\S), --` + regexp.QuoteMeta(name) + `\b`).FindStringSubmatch(help)
	if m == nil {
		return ""
	}
	return m[1]
}

// RenderWarnings renders a page with man -l, as a user's man would, and
// returns groff's warnings (none for a good page) and the rendered text.
func RenderWarnings(page []byte) (warnings, text string, err error) {
	f, err := os.CreateTemp("", "page-*.8")
	if err != nil {
		return "", "", fmt.Errorf("man page file: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(page); err != nil {
		f.Close()
		return "", "", fmt.Errorf("man page file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("man page file: %w", err)
	}
	cmd := exec.Command("man", "--warnings", "-l", f.Name())
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LANG=C.UTF-8")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return errb.String(), out.String(), fmt.Errorf("man -l: %w: %s", err, errb.String())
	}
	return errb.String(), out.String(), nil
}
