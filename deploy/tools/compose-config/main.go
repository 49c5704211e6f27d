// compose-config loads a compose file with compose-go, the library inside `docker compose`,
// the way `docker compose config` does, without a Docker engine: YAML with merge keys,
// ${…} interpolation from the given env file, the compose-spec schema bundled with the
// library, and its consistency checks (undefined services, networks, volumes in references).
// Prints the resolved project as JSON; on any problem prints it to stderr and exits 1.
//
// usage: compose-config <compose file> <env file>
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: compose-config <compose file> <env file>")
		os.Exit(2)
	}
	file, envFile := os.Args[1], os.Args[2]
	opts, err := cli.NewProjectOptions(
		[]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnvFiles(envFile),
		cli.WithDotEnv,
		cli.WithName("parley"),
		cli.WithConsistency(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
