// Package inspector is standin's web inspector: a page, embedded in the
// binary, that shows webhooks, events and deliveries as they happen and
// acts on them (redeliver, cancel, emit an event, simulate a sync, run the
// receiver check). It is plain HTML, CSS and JavaScript with no build step
// and no third-party resource; it reads the REST API from the browser and
// learns of changes from GET /standin/v1/stream (server-sent events).
//
// An Inspector serves the page at / and its assets under /ui/; the caller
// puts authentication in front, as for the API.
package inspector

import (
	"bytes"
	"embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/standin-dev/standin/delivery"
)

//go:embed static
var static embed.FS

// AssetPrefix is the path under which the page's assets are served.
const AssetPrefix = "/ui/"

// ConfigPath serves the page's settings (Settings as JSON).
const ConfigPath = "/ui/config.json"

// Settings are what the page needs to know of the server.
type Settings struct {
	// TimeScale is emulated seconds per real second, to place real attempt
	// times on the emulated schedule.
	TimeScale float64 `json:"time_scale"`
	// Schedules are the emulated retry offsets of each profile, in seconds
	// after the first attempt (the first is 0).
	Schedules map[delivery.Profile][]float64 `json:"schedules"`
}

// NewSettings returns the Settings of a server running at timeScale.
func NewSettings(timeScale float64) Settings {
	s := Settings{TimeScale: timeScale, Schedules: map[delivery.Profile][]float64{}}
	for _, p := range []delivery.Profile{delivery.ProfileFivetran, delivery.ProfilePortable} {
		offs := delivery.ScheduleFor(p).Offsets()
		secs := make([]float64, 1, len(offs)+1) // the first attempt, at 0
		for _, o := range offs {
			secs = append(secs, o.Seconds())
		}
		s.Schedules[p] = secs
	}
	return s
}

// securityHeaders allow only the page's own resources.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// page is one file the inspector serves.
type page struct {
	body        []byte
	contentType string
}

// Inspector serves the page, its assets and its settings. Create it with
// New.
type Inspector struct {
	pages map[string]page // by URL path
}

// New returns the inspector of a server with settings.
func New(settings Settings) *Inspector {
	read := func(name string) []byte {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			panic(err) // the files are embedded: they exist
		}
		return b
	}
	cfg, _ := json.Marshal(settings)
	return &Inspector{pages: map[string]page{
		"/":                     {read("index.html"), "text/html; charset=utf-8"},
		AssetPrefix + "app.js":  {read("app.js"), "text/javascript; charset=utf-8"},
		AssetPrefix + "app.css": {read("app.css"), "text/css; charset=utf-8"},
		ConfigPath:              {cfg, "application/json"},
	}}
}

// Serves reports whether r is a GET or HEAD of one of the inspector's
// paths; the caller routes every other request elsewhere, so that unknown
// paths keep the API's 404.
func (in *Inspector) Serves(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	_, ok := in.pages[r.URL.Path]
	return ok
}

// ServeHTTP serves the page or asset of r's path.
func (in *Inspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := in.pages[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", p.contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(p.body))
}
