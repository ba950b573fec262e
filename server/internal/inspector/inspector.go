// Package inspector is standin's web inspector: a page, embedded in the
// binary, that shows webhooks, events and deliveries as they happen and
// acts on them (redeliver, cancel, emit an event, simulate a sync, run the
// receiver check). It is plain HTML, CSS and JavaScript with no build step
// and no third-party resource; it reads the REST API from the browser and
// learns of changes from GET /standin/v1/stream (server-sent events).
//
// Mount serves the page at / and its assets under /ui/; the caller puts
// authentication in front, as for the API.
package inspector

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"

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

// Mount registers the page (GET /), its assets (GET /ui/…) and its
// settings (GET /ui/config.json) on mux.
func Mount(mux *http.ServeMux, settings Settings) {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix(AssetPrefix, http.FileServerFS(sub))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
	mux.HandleFunc("GET "+AssetPrefix, func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		files.ServeHTTP(w, r)
	})
	cfg, _ := json.Marshal(settings)
	mux.HandleFunc("GET "+ConfigPath, func(w http.ResponseWriter, _ *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cfg)
	})
}
