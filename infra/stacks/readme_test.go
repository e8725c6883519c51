package stacks

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's Layout names every command, every internal package, every
// infra package and every stack: a folder or a stack added without a line
// there fails here.
func TestReadmeLayoutNamesEveryFolderAndStack(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	layout := string(raw)
	if i := strings.Index(layout, "## Layout"); i >= 0 {
		layout = layout[i:]
		if j := strings.Index(layout[3:], "\n## "); j >= 0 {
			layout = layout[:j+3]
		}
	} else {
		t.Fatal("the README has no Layout section")
	}
	var want []string
	for _, glob := range []string{"../../lambdas/cmd/*", "../../lambdas/internal/*", "../*"} {
		dirs, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() || filepath.Base(d) == "testdata" {
				continue
			}
			prefix := map[string]string{"../../lambdas/cmd/*": "cmd/", "../../lambdas/internal/*": "internal/", "../*": ""}[glob]
			want = append(want, prefix+filepath.Base(d))
		}
	}
	for _, name := range want {
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `[/ ]`).MatchString(layout) {
			t.Errorf("the README's Layout has no line for %s", name)
		}
	}
	stage := regexp.MustCompile(`^Shop-(dev-test|prod)-`)
	for name := range tpl {
		doc := "`" + stage.ReplaceAllString(name, "Shop-<stage>-") + "`"
		if !strings.Contains(layout, doc) {
			t.Errorf("the README's Layout does not name the stack %s", doc)
		}
	}
}
