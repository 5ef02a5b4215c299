package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func completion(t *testing.T, shell string) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeCompletion(&b, shell, "doc-tool", docModel(t)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// needShell finds a program (a shell, man), or skips outside CI
// (scripts/setup.sh --pkg installs them; CI must not skip).
func needShell(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: run scripts/setup.sh --pkg", name)
		}
		t.Skipf("%s is not installed (scripts/setup.sh --pkg installs it)", name)
	}
	return p
}

// bashComplete loads the bash script and completes the words, the last
// one being completed, as bash does on TAB.
func bashComplete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "doc-tool.bash")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	src := `set -e; source "$1"; COMP_WORDS=(doc-tool ` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _doc_tool; printf '%s\n' "${COMPREPLY[@]}"`
	out, err := exec.Command(needShell(t, "bash"), "-c", src, "bash", file).CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion of %q: %v\n%s", words, err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	script := completion(t, "bash")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "cgroupdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroupfile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"--att"}, "--attach"},
		{[]string{"--attach", ""}, "auto fentry kprobe tracepoint"},
		{[]string{"--attach", "tr"}, "tracepoint"},
		{[]string{"--attach", "=", "k"}, "kprobe"},
		{[]string{"--cgroup", dir + "/cgroup"}, dir + "/cgroupdir"},
		{[]string{"--btf", dir + "/cgroupf"}, dir + "/cgroupfile"},
		{[]string{"-p", ""}, ""},
		{[]string{"-4", "--ver"}, "--verbose --version"},
	} {
		if got := strings.Join(bashComplete(t, script, tc.words...), " "); got != tc.want {
			t.Errorf("complete %q: got %q, want %q", tc.words, got, tc.want)
		}
	}
	if all := bashComplete(t, script, ""); len(all) < 30 || strings.Contains(strings.Join(all, " "), "generate") {
		t.Errorf("completing nothing offers %q: want every visible flag, no hidden one", all)
	}
}

func TestZshCompletion(t *testing.T) {
	script := completion(t, "zsh")
	for _, want := range []string{"#compdef doc-tool", "--attach=[", ":(auto fentry kprobe tracepoint)", "--cgroup=[", ":_files -/", "--btf=[", ":_files'"} {
		if !strings.Contains(script, want) {
			t.Errorf("zsh script lacks %q:\n%s", want, script)
		}
	}
	file := filepath.Join(t.TempDir(), "_doc-tool")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(needShell(t, "zsh"), "-n", file).CombinedOutput(); err != nil {
		t.Errorf("zsh -n: %v\n%s", err, out)
	}
}

func TestFishCompletion(t *testing.T) {
	script := completion(t, "fish")
	for _, want := range []string{"complete -c doc-tool -l attach -x -a 'auto fentry kprobe tracepoint'", "-l cgroup -x -a '(__fish_complete_directories)'", "-l btf -r -F"} {
		if !strings.Contains(script, want) {
			t.Errorf("fish script lacks %q:\n%s", want, script)
		}
	}
	file := filepath.Join(t.TempDir(), "doc-tool.fish")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	fish := needShell(t, "fish")
	if out, err := exec.Command(fish, "--no-execute", file).CombinedOutput(); err != nil {
		t.Errorf("fish --no-execute: %v\n%s", err, out)
	}
	// fish's own completer, on the script: --attach offers its modes.
	out, err := exec.Command(fish, "--no-config", "-c", "source "+file+"; complete -C 'doc-tool --attach '").CombinedOutput()
	if err != nil {
		t.Fatalf("fish complete -C: %v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		word, _, _ := strings.Cut(line, "\t") // a tab, then the description
		got = append(got, word)
	}
	if strings.Join(got, " ") != "auto fentry kprobe tracepoint" {
		t.Errorf("fish completes --attach with %q", got)
	}
}
