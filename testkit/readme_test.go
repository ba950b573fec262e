package testkit_test

import (
	"bytes"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"testing"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's testkit example from readme_example_test.go")

// The markers around the README's copy of readme_example_test.go.
const (
	readmeStart = "<!-- testkit-example:start: generated from testkit/readme_example_test.go -->\n"
	readmeEnd   = "<!-- testkit-example:end -->\n"
)

// TestREADMEExample checks that the README's testkit example is
// readme_example_test.go's imports and test function, byte for byte, so
// the README shows code that compiles and passes. With -update-readme it
// rewrites the README's copy instead.
func TestREADMEExample(t *testing.T) {
	want := readmeExample(t, "readme_example_test.go")
	const path = "../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte(readmeStart))
	end := bytes.Index(readme, []byte(readmeEnd))
	if start < 0 || end < start {
		t.Fatalf("%s lacks the markers %q … %q", path, readmeStart, readmeEnd)
	}
	got := readme[start+len(readmeStart) : end]
	if bytes.Equal(got, want) {
		return
	}
	if *updateREADME {
		out := append(append(append([]byte(nil), readme[:start+len(readmeStart)]...), want...), readme[end:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's testkit example differs from readme_example_test.go; run\n"+
		"\tgo test ./testkit -run TestREADMEExample -update-readme\nREADME has:\n%s\nwant:\n%s", got, want)
}

// readmeExample returns the fenced Go block the README shows for file: its
// import declaration and its one test function, as written.
func readmeExample(t *testing.T, file string) []byte {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	text := func(n ast.Node) []byte {
		return src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset]
	}
	var imports, test []byte
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				imports = text(d)
			}
		case *ast.FuncDecl:
			if test != nil {
				t.Fatalf("%s has more than one function", file)
			}
			test = text(d)
		}
	}
	if imports == nil || test == nil {
		t.Fatalf("%s lacks its imports or its test function", file)
	}
	var b bytes.Buffer
	b.WriteString("```go\n")
	b.Write(imports)
	b.WriteString("\n\n")
	b.Write(test)
	b.WriteString("\n```\n")
	return b.Bytes()
}
