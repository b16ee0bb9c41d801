package bundle_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/config"
)

// The runtime unpacks an upload into a directory, parses the config with
// that directory as the working directory, and checks it before anything
// else.
func ExampleCheck() {
	dir, _ := os.MkdirTemp("", "bundle")
	defer os.RemoveAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "templates", "vpc.yaml"), []byte("Resources: {}\n"), 0o644)
	src := `namespace: prod
stacks:
  - name: vpc
    template_path: templates/vpc.yaml
  - name: app
    template_path: ../shared/app.yaml
    variables:
      UserData: ${file plain:file://userdata.sh}
`
	cfg, err := config.ParseIn(dir, "stacker.yaml", []byte(src), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = bundle.Check(dir, cfg)
	fmt.Println(strings.ReplaceAll(err.Error(), ", and", ",\n   and"))
	// Output:
	// stacker.yaml:6:5: stacks[1].template_path: ../shared/app.yaml is outside the bundle directory,
	//    and the runtime has only the bundle's files: copy the file into the bundle and give its path relative to the bundle's root
	// stacker.yaml:8:7: stacks[1].variables.UserData: file://userdata.sh is not in the bundle: add it to the upload
}
