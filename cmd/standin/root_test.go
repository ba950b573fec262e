package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/testkit"
)

// TestEveryCommandHasAnExample walks the whole tree, help and completion
// included: `--help` must show an example everywhere.
func TestEveryCommandHasAnExample(t *testing.T) {
	t.Parallel()
	var walk func(c *cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		count++
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("%q has no Short", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	if count < 25 {
		t.Errorf("walked %d commands, want the whole tree", count)
	}

	r := ok(t, "trigger", "--help")
	for _, want := range []string{"Examples:", "standin trigger sync_end --status FAILURE", "--wait", "--api-url", "STANDIN_API_URL", "Exit codes:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("trigger --help lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "--poll-interval") {
		t.Errorf("trigger --help shows the hidden --poll-interval")
	}
	r = ok(t, "help", "webhooks", "create")
	if !strings.Contains(r.stdout, "standin webhooks create --url") {
		t.Errorf("help webhooks create:\n%s", r.stdout)
	}
}

func TestNoCommand(t *testing.T) {
	t.Parallel()
	r := cli(t)
	if r.code != exitUsage || !strings.Contains(r.stderr, "Available Commands:") || !strings.Contains(r.stderr, `standin: missing command for "standin"`) {
		t.Errorf("standin alone:\n%s", r)
	}
	r = cli(t, "migrate")
	if r.code != exitUsage || !strings.Contains(r.stderr, `missing command for "standin migrate"`) {
		t.Errorf("standin migrate alone:\n%s", r)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := ok(t, "version")
	if !strings.HasPrefix(r.stdout, "standin ") {
		t.Errorf("version: %s", r)
	}
	if r := cli(t, "version", "extra"); r.code != exitUsage {
		t.Errorf("version extra: %s", r)
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash":       "__start_standin",
		"zsh":        "#compdef standin",
		"fish":       "complete -c standin",
		"powershell": "Register-ArgumentCompleter",
	} {
		r := ok(t, "completion", shell)
		if !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		if r := cli(t, args...); r.code != exitUsage {
			t.Errorf("%v: want exit 2, got %s", args, r)
		}
	}
	// The scripts work: cobra's hidden __complete answers with our commands.
	r := ok(t, "__complete", "webhooks", "")
	for _, sub := range []string{"list", "get", "create", "update", "delete", "test"} {
		if !strings.Contains(r.stdout, sub+"\t") {
			t.Errorf("__complete webhooks lacks %s:\n%s", sub, r.stdout)
		}
	}
}

// TestBinary builds the real binary and runs it, to prove main wires the
// command tree, the exit codes and the environment.
func TestBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "standin")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	buildCtx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a cold build cache is slow
	defer cancel()
	build := exec.CommandContext(buildCtx, "go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := await(t)

	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil || string(out) != "standin v9.9.9-test\n" {
		t.Fatalf("standin version: %q, %v", out, err)
	}

	st := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s")
	cmd := exec.CommandContext(ctx, bin, "webhooks", "create", "--url", rcv.URL, "--events", "sync_end", "--secret", "s", "-o", "json")
	cmd.Env = append(cmd.Environ(), "STANDIN_API_URL="+st.URL)
	out, err = cmd.Output()
	if err != nil || !strings.Contains(string(out), `"secret": "******"`) {
		t.Fatalf("webhooks create: %s, %v", out, err)
	}

	cmd = exec.CommandContext(ctx, bin, "webhooks", "get", "no_such", "--api-url", st.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure || !strings.Contains(stderr.String(), "NotFound_Webhook") {
		t.Errorf("webhooks get no_such: %v\n%s", err, stderr.String())
	}
	cmd = exec.CommandContext(ctx, bin, "webhooks", "get")
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
		t.Errorf("webhooks get without id: %v, want exit 2", err)
	}
}
