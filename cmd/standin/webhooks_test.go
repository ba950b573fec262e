package main

import (
	"strings"
	"testing"

	"github.com/standin-dev/standin/testkit"
)

func TestWebhooksLifecycle(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s3cret")

	// create: human output names the webhook and never shows the secret.
	r := ok(t, api(st, "webhooks", "create", "--url", rcv.URL+"/hook", "--events", "sync_start", "--events", "sync_end", "--secret", "s3cret")...)
	for _, want := range []string{"Account webhook has been created", rcv.URL + "/hook", "sync_start, sync_end", "******"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("create output lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, "s3cret") {
		t.Errorf("create output shows the secret:\n%s", r)
	}

	// a group webhook with standin's extensions, as JSON.
	r = ok(t, api(st, "webhooks", "create", "--group", "elegant_canyon", "--url", rcv.URL, "--events", "sync_end",
		"--profile", "portable", "--signing-scheme", "token", "--signing-header", "X-Token", "--secret", "tok", "-o", "json")...)
	var group struct {
		ID, Type, GroupID, Profile string
		Signing                    struct{ Scheme, Header string }
	}
	decodeJSON(t, r, &group)
	if group.Type != "group" || group.Profile != "portable" || group.Signing.Scheme != "token" || group.Signing.Header != "X-Token" {
		t.Errorf("group webhook = %+v", group)
	}

	// list: a table with both, and JSON items.
	r = ok(t, api(st, "webhooks", "list")...)
	if !strings.HasPrefix(r.stdout, "ID ") || !strings.Contains(r.stdout, group.ID) || strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("list table:\n%s", r)
	}
	r = ok(t, api(st, "webhooks", "list", "-o", "json")...)
	var page struct {
		Items []struct {
			ID     string
			Active bool
		}
	}
	decodeJSON(t, r, &page)
	if len(page.Items) != 2 || page.Items[1].ID != group.ID {
		t.Fatalf("list json = %+v", page)
	}
	accountID := page.Items[0].ID

	// paging: one per page, the hint on stderr; --all follows the cursor.
	r = ok(t, api(st, "webhooks", "list", "--limit", "1")...)
	if strings.Contains(r.stdout, group.ID) || !strings.Contains(r.stderr, "--cursor") {
		t.Errorf("list --limit 1:\n%s", r)
	}
	r = ok(t, api(st, "webhooks", "list", "--limit", "1", "--all", "-o", "json")...)
	page.Items = nil
	decodeJSON(t, r, &page)
	if len(page.Items) != 2 {
		t.Errorf("list --limit 1 --all: %d items, want 2\n%s", len(page.Items), r)
	}

	// get
	r = ok(t, api(st, "webhooks", "get", accountID)...)
	if !strings.Contains(r.stdout, accountID) || !strings.Contains(r.stdout, "fivetran") {
		t.Errorf("get:\n%s", r)
	}

	// update only what is given.
	r = ok(t, api(st, "webhooks", "update", accountID, "--active=false", "-o", "json")...)
	var upd struct {
		Active bool
		Events []string
	}
	decodeJSON(t, r, &upd)
	if upd.Active || len(upd.Events) != 2 {
		t.Errorf("update --active=false = %+v", upd)
	}
	r = ok(t, api(st, "webhooks", "update", accountID, "--events", "sync_end")...)
	if !strings.Contains(r.stdout, "Webhook has been updated") || !strings.Contains(r.stdout, "Active   false") {
		t.Errorf("update --events:\n%s", r)
	}

	// test: the receiver accepts, then refuses (exit 3).
	r = ok(t, api(st, "webhooks", "test", accountID, "--event", "sync_start")...)
	if !strings.Contains(r.stdout, "accepted: receiver answered HTTP 200") {
		t.Errorf("test:\n%s", r)
	}
	reqs := rcv.Requests()
	if last := reqs[len(reqs)-1]; !strings.Contains(string(last.Body), `"event":"sync_start"`) || last.SignatureErr != nil {
		t.Errorf("test request: %s, signature %v", last.Body, last.SignatureErr)
	}
	rcv.FailFirst(1, 503)
	r = cli(t, api(st, "webhooks", "test", accountID, "-o", "json")...)
	var tr struct {
		Succeed bool
		Status  int
	}
	decodeJSON(t, r, &tr)
	if r.code != exitUndelivered || tr.Succeed || tr.Status != 503 {
		t.Errorf("test against a failing receiver: %+v\n%s", tr, r)
	}

	// delete, then it is gone: the API's code and message, exit 1.
	r = ok(t, api(st, "webhooks", "delete", accountID)...)
	if !strings.Contains(r.stdout, "Webhook with id '"+accountID+"' has been deleted") {
		t.Errorf("delete:\n%s", r)
	}
	r = cli(t, api(st, "webhooks", "get", accountID)...)
	if r.code != exitFailure || r.stdout != "" ||
		!strings.Contains(r.stderr, "NotFound_Webhook: Cannot find entity 'Webhook' with id '"+accountID+"' (HTTP 404)") {
		t.Errorf("get deleted:\n%s", r)
	}
}

func TestWebhooksUsageErrors(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"create without url", []string{"webhooks", "create", "--events", "sync_end"}, "--url is required"},
		{"create without events", []string{"webhooks", "create", "--url", "http://127.0.0.1:1"}, "--events is required"},
		{"update nothing", []string{"webhooks", "update", "x"}, "nothing to update"},
		{"bad signing", []string{"webhooks", "create", "--url", "http://127.0.0.1:1", "--events", "sync_end", "--signing-scheme", "rot13"}, "--signing-*"},
		{"get without id", []string{"webhooks", "get"}, "accepts 1 arg(s), received 0"},
		{"bad output", []string{"webhooks", "list", "-o", "yaml"}, `--output "yaml"`},
		{"unknown flag", []string{"webhooks", "list", "--frob"}, "unknown flag: --frob"},
		{"bad flag value", []string{"webhooks", "list", "--limit", "many"}, `invalid argument "many"`},
		{"missing subcommand", []string{"webhooks"}, `missing command for "standin webhooks"`},
		{"unknown subcommand", []string{"webhooks", "lst"}, `did you mean list, `},
		{"unknown command", []string{"triger"}, `unknown command "triger" for "standin"; did you mean trigger?`},
		{"half credentials", []string{"webhooks", "list", "--api-key", "k"}, "set both --api-key and --api-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args
			if len(args) > 1 && !strings.HasPrefix(tc.name, "unknown sub") && !strings.HasPrefix(tc.name, "missing sub") {
				args = api(st, args...)
			}
			r := cli(t, args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("want exit 2 and %q on stderr, got %s", tc.want, r)
			}
		})
	}
	// Nothing reached the API.
	r := ok(t, api(st, "webhooks", "list", "-o", "json")...)
	if !strings.Contains(r.stdout, `"items": []`) {
		t.Errorf("usage errors created webhooks:\n%s", r)
	}
}

func TestAPIReachabilityAndAuth(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t, testkit.Config{APIKey: "key", APISecret: "secret"})

	r := cli(t, api(st, "webhooks", "list")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "Unauthorized") || !strings.Contains(r.stderr, "HTTP 401") {
		t.Errorf("without credentials:\n%s", r)
	}
	ok(t, api(st, "webhooks", "list", "--api-key", "key", "--api-secret", "secret")...)

	// Nothing listens at this address any more.
	gone := testkit.NewReceiver(t, "")
	url := gone.URL
	gone.Close()
	r = cli(t, "webhooks", "list", "--api-url", url)
	if r.code != exitFailure || !strings.Contains(r.stderr, "cannot reach standin at "+url) {
		t.Errorf("unreachable API:\n%s", r)
	}

	// Something that is not standin.
	other := answering(t, "", testkit.Response{Status: 200, Body: "<html>hello</html>"})
	r = cli(t, "webhooks", "list", "--api-url", other.URL)
	if r.code != exitFailure || !strings.Contains(r.stderr, "is not a standin API response") {
		t.Errorf("not standin:\n%s", r)
	}
}

// TestAPIEnvironment checks STANDIN_API_URL, STANDIN_API_KEY and
// STANDIN_API_SECRET; it sets the environment, so it does not run in
// parallel.
func TestAPIEnvironment(t *testing.T) {
	st := testkit.Start(t, testkit.Config{APIKey: "key", APISecret: "secret"})
	t.Setenv("STANDIN_API_URL", st.URL)
	t.Setenv("STANDIN_API_KEY", "key")
	t.Setenv("STANDIN_API_SECRET", "secret")
	ok(t, "webhooks", "list")
	// A flag beats the environment.
	r := cli(t, "webhooks", "list", "--api-secret", "wrong")
	if r.code != exitFailure || !strings.Contains(r.stderr, "Unauthorized") {
		t.Errorf("--api-secret over STANDIN_API_SECRET:\n%s", r)
	}
}
