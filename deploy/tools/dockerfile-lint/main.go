// dockerfile-lint runs BuildKit's own Dockerfile front end over each file named on the command
// line, the way `docker build --check` does, without a Docker engine: the real parser, the real
// instruction checks (stages, COPY --from, ARG/ENV expansion) and every lint rule. Base images
// are not fetched: a stand-in config (linux/amd64, no ENV) answers for every FROM.
//
// Output: one JSON object per file: {"file", "stages":[{"name","base"}], "warnings":[…], "error"}.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
)

type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","config":{}}`)
	return ref, digest.FromBytes(config), config, nil
}

type stage struct {
	Name string `json:"name"`
	Base string `json:"base"`
}

type warning struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
	Line   int32  `json:"line"`
}

type report struct {
	File     string    `json:"file"`
	Stages   []stage   `json:"stages"`
	Warnings []warning `json:"warnings"`
	Error    string    `json:"error,omitempty"`
}

func check(file string) report {
	r := report{File: file, Stages: []stage{}, Warnings: []warning{}}
	dt, err := os.ReadFile(file)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for _, s := range stages {
		r.Stages = append(r.Stages, stage{Name: s.Name, Base: s.BaseName})
	}
	ctx := context.Background()
	// the lint report wants a definition for its source entry; an empty one will do
	def, err := llb.Scratch().Marshal(ctx)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	sourceMap := llb.NewSourceMap(nil, file, "Dockerfile", dt)
	sourceMap.Definition = def
	opt := dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{},
		MetaResolver: offlineImages{},
		SourceMap:    sourceMap,
	}
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, opt)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if res.Error != nil {
		r.Error = res.Error.Message
	}
	for _, w := range res.Warnings {
		line := int32(0)
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = w.Location.Ranges[0].Start.Line
		}
		r.Warnings = append(r.Warnings, warning{Rule: w.RuleName, Detail: w.Detail, Line: line})
	}
	return r
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-lint <Dockerfile>...")
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for _, f := range os.Args[1:] {
		if err := out.Encode(check(f)); err != nil {
			panic(err)
		}
	}
}
