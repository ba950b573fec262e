package check

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/standin-dev/standin/delivery"
)

// textBody is how much of a request body the text report shows.
const textBody = 300

// WriteText writes the report for people: a header, one table row per
// probe (accepts_valid with one sub-row per event), a summary line, then
// the evidence of every probe that failed or warned: each request sent
// (headers, the start of the body) and the answer.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "standin check %s\n", r.URL)
	fmt.Fprintf(&b, "profile %s · signing %s · timeout %s\n", r.Profile, signingName(r.Signing, r.SecretSet),
		time.Duration(r.TimeoutMS)*time.Millisecond)
	if !r.Reachable {
		fmt.Fprintf(&b, "\nThe receiver could not be reached: no request got an answer.\n")
	}
	b.WriteByte('\n')
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROBE\tVERDICT\tDETAIL")
	for _, p := range r.Probes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.ID, strings.ToUpper(string(p.Verdict)), p.Reason)
		if p.ID != ProbeAcceptsValid {
			continue
		}
		for _, x := range p.Exchanges {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", x.Label, strings.ToUpper(string(x.Verdict)), short(x))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	fmt.Fprintf(&b, "\n%d probes: %d pass, %d warn, %d fail, %d skipped in %s\n",
		len(r.Probes), s.Pass, s.Warn, s.Fail, s.Skipped, fmtMS(r.WallTimeMS))

	first := true
	for _, p := range r.Probes {
		if p.Verdict != Fail && p.Verdict != Warn {
			continue
		}
		if first {
			b.WriteString("\nEVIDENCE\n")
			first = false
		}
		writeEvidence(&b, p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the text report.
func (r *Report) String() string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

// writeEvidence writes the exchanges of p that did not pass.
func writeEvidence(b *strings.Builder, p ProbeResult) {
	fmt.Fprintf(b, "\n%s: %s\n  %s\n", p.ID, strings.ToUpper(string(p.Verdict)), p.Reason)
	for _, x := range p.Exchanges {
		if x.Verdict == Pass && p.ID != ProbeLatency {
			continue
		}
		fmt.Fprintf(b, "  [%s] %s\n", x.Label, strings.ToUpper(string(x.Verdict)))
		fmt.Fprintf(b, "    > %s %s\n", x.Request.Method, x.Request.URL)
		keys := make([]string, 0, len(x.Request.Headers))
		for k := range x.Request.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range x.Request.Headers[k] {
				fmt.Fprintf(b, "    > %s: %s\n", k, v)
			}
		}
		body := x.Request.Body
		if len(body) > textBody {
			cut := textBody
			for cut > 0 && !utf8.RuneStart(body[cut]) {
				cut--
			}
			body = body[:cut] + "…"
		}
		fmt.Fprintf(b, "    > %s\n", body)
		fmt.Fprintf(b, "    > (%d bytes, sha256 %s)\n", x.Request.BodyBytes, x.Request.BodySHA256)
		fmt.Fprintf(b, "    < %s\n", short(x))
		if x.ResponseExcerpt != "" {
			fmt.Fprintf(b, "    < %s\n", oneLine(x.ResponseExcerpt, 200))
		}
	}
}

// short is one exchange's answer in a few words: "200 in 1.2ms".
func short(x Exchange) string {
	if x.Error != "" {
		if x.TimedOut {
			return "timed out after " + fmtMS(x.LatencyMS)
		}
		return "no answer: " + x.Error
	}
	return fmt.Sprintf("%d in %s", x.Status, fmtMS(x.LatencyMS))
}

// oneLine returns s on one line, cut to at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}

// signingName names a signing configuration for people.
func signingName(s delivery.Signing, secret bool) string {
	var name string
	switch s.Scheme {
	case "", delivery.SchemeFivetran:
		name = "fivetran (" + delivery.HeaderFivetranSignature + ")"
	case delivery.SchemeHMAC:
		name = fmt.Sprintf("hmac %s %s in %s", cmpOr(s.Algorithm, delivery.AlgorithmSHA256),
			cmpOr(s.Encoding, delivery.EncodingBase64), cmpOr(s.Header, delivery.HeaderHMACSign))
	case delivery.SchemeToken:
		name = "token in " + s.Header
	case delivery.SchemeStandard:
		name = "standard (Standard Webhooks)"
	default:
		name = string(s.Scheme)
	}
	if s.LowerHex {
		name += ", lower-case hex"
	}
	if !secret && s.Scheme != delivery.SchemeNone {
		name += ", no secret"
	}
	return name
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// JUnit XML, in the shape CI systems (GitHub Actions reporters, GitLab,
// Jenkins) read.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: one test suite named after the
// URL, one test case per probe (classname "standin.check"). A failed probe
// has a <failure> with its reason and evidence, a skipped one <skipped>
// with the reason; a warning passes, its reason in <system-out> prefixed
// "WARN:".
func (r *Report) WriteJUnit(w io.Writer) error {
	suite := junitSuite{
		Name:      "standin check " + r.URL,
		Tests:     len(r.Probes),
		Failures:  r.Summary.Fail,
		Skipped:   r.Summary.Skipped,
		Time:      seconds(r.WallTimeMS),
		Timestamp: r.StartedAt.UTC().Format(time.RFC3339),
		Properties: []junitProperty{
			{Name: "url", Value: r.URL},
			{Name: "profile", Value: string(r.Profile)},
			{Name: "signing", Value: signingName(r.Signing, r.SecretSet)},
			{Name: "timeout_ms", Value: fmt.Sprint(r.TimeoutMS)},
		},
	}
	for _, p := range r.Probes {
		var total float64
		for _, x := range p.Exchanges {
			total += x.LatencyMS
		}
		c := junitCase{Classname: "standin.check", Name: p.ID, Time: seconds(total)}
		switch p.Verdict {
		case Fail:
			var ev strings.Builder
			writeEvidence(&ev, p)
			c.Failure = &junitMessage{Message: p.Reason, Type: "fail", Text: ev.String()}
		case Skipped:
			c.Skipped = &junitMessage{Message: p.Reason}
		case Warn:
			var ev strings.Builder
			writeEvidence(&ev, p)
			c.SystemOut = "WARN: " + p.Reason + "\n" + ev.String()
		default:
			c.SystemOut = p.Reason
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{
		Name: "standin check", Tests: suite.Tests, Failures: suite.Failures,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// seconds formats milliseconds as JUnit's decimal seconds.
func seconds(msv float64) string { return fmt.Sprintf("%.3f", msv/1000) }
