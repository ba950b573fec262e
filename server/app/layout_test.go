package app_test

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/standin-dev/standin/"

// TestLayout checks the import rules of docs/layout.md on the module's
// packages (their non-test imports): the composition root is the only
// importer of the backends, delivery imports none of store, server and
// worker, and the emitter, the simulator, their errors, the manual clock and
// the export have no protobuf or gRPC in them.
func TestLayout(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string][]string{} // package (module-relative) -> imports
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, path)
		imports[filepath.ToSlash(rel)] = pkg.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"server", "server/app", "server/internal/emit", "server/internal/simulate", "server/clock", "server/export", "delivery", "testkit", "cmd/standin"} {
		if _, ok := imports[must]; !ok {
			t.Fatalf("package %s not found under %s", must, root)
		}
	}
	noProtobuf := []string{"server/internal/emit", "server/internal/simulate", "server/internal/apierr", "server/clock", "server/export"}
	backends := []string{module + "store/backend", module + "store/sqlite", module + "store/postgres"}
	for pkg, imps := range imports {
		for _, imp := range imps {
			switch {
			case slices.Contains(backends, imp) && pkg != "server/app" && !strings.HasPrefix(pkg, "store/"):
				t.Errorf("%s imports %s: only the composition root (server/app) may import a backend", pkg, imp)
			case (pkg == "delivery" || strings.HasPrefix(pkg, "delivery/")) &&
				(strings.HasPrefix(imp, module+"store") || strings.HasPrefix(imp, module+"server") || strings.HasPrefix(imp, module+"worker")):
				t.Errorf("%s imports %s: delivery must not import store, server or worker", pkg, imp)
			case slices.Contains(noProtobuf, pkg) &&
				(strings.HasPrefix(imp, "google.golang.org/") || strings.HasPrefix(imp, "github.com/grpc-ecosystem/") || strings.HasPrefix(imp, module+"proto/")):
				t.Errorf("%s imports %s: the emitter, the simulator, the manual clock and the export have no protobuf or gRPC", pkg, imp)
			}
		}
	}
}
