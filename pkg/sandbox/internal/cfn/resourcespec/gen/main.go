// Command gen writes the resource type table of package resourcespec from the
// npm package @aws-cdk/aws-service-spec, the CDK's machine-readable copy of the
// CloudFormation resource specification. It fetches the pinned version with
// `npm pack` into a temporary directory (never into the repository), checks the
// tarball against the pinned integrity, and writes a gzipped TSV table:
//
//	# @aws-cdk/aws-service-spec <version> <integrity>
//	# sha256 <hex digest of the lines below>
//	AWS::ECR<TAB><ARN prefix of the service>
//	AWS::ECR::Repository<TAB><ARN template><TAB><Ref identifiers><TAB><attributes>
//
// Attributes are comma separated; a suffix gives a non-string kind: "#" a
// number, "?" a boolean, "[]" a list, "{}" a structure or map. Run it with
// `go generate ./pkg/sandbox/internal/cfn/resourcespec`; it needs npm and the
// registry, so CI never runs it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

const pkg = "@aws-cdk/aws-service-spec"

func main() {
	version := flag.String("version", "", "package version to fetch")
	integrity := flag.String("integrity", "", "the tarball's sha512 integrity as npm reports it")
	tarball := flag.String("tarball", "", "use this local tarball instead of fetching one")
	out := flag.String("o", "types.tsv.gz", "output file")
	flag.Parse()
	if err := run(*version, *integrity, *tarball, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(version, integrity, tarball, out string) error {
	if version == "" || integrity == "" {
		return errors.New("-version and -integrity are required")
	}
	if tarball == "" {
		dir, err := os.MkdirTemp("", "resourcespec-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if tarball, err = fetch(dir, version); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(tarball)
	if err != nil {
		return err
	}
	sum := sha512.Sum512(data)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
		return fmt.Errorf("%s: integrity %s, want %s", tarball, got, integrity)
	}
	db, err := readDB(data)
	if err != nil {
		return err
	}
	body := table(db)
	digest := sha256.Sum256([]byte(body))
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	fmt.Fprintf(zw, "# %s %s %s\n# sha256 %s\n%s", pkg, version, integrity, hex.EncodeToString(digest[:]), body)
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// fetch downloads the package tarball into dir with npm and returns its path.
func fetch(dir, version string) (string, error) {
	cmd := exec.Command("npm", "pack", "--json", "--ignore-scripts", pkg+"@"+version)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack: %w", err)
	}
	var packed []struct{ Filename string }
	if err := json.Unmarshal(outb, &packed); err != nil || len(packed) != 1 {
		return "", fmt.Errorf("npm pack: unexpected output %q", outb)
	}
	return filepath.Join(dir, packed[0].Filename), nil
}

type typeRef struct {
	Type    string   `json:"type"`
	Element *typeRef `json:"element"`
}

type entity struct {
	CloudFormationType string   `json:"cloudFormationType"`
	PrimaryIdentifier  []string `json:"primaryIdentifier"`
	CfnRefIdentifier   []string `json:"cfnRefIdentifier"`
	ARNTemplate        string   `json:"arnTemplate"`
	Transform          string   `json:"cloudFormationTransform"`
	Attributes         map[string]struct {
		Type typeRef `json:"type"`
	} `json:"attributes"`
}

type database struct {
	Schema struct {
		Resource struct {
			Entities []entity `json:"entities"`
		} `json:"resource"`
	} `json:"schema"`
}

// readDB finds package/db.json.gz in the npm tarball and decodes it.
func readDB(tgz []byte) (*database, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("package/db.json.gz not in the tarball")
		}
		if err != nil {
			return nil, err
		}
		if h.Name != "package/db.json.gz" {
			continue
		}
		inner, err := gzip.NewReader(tr)
		if err != nil {
			return nil, err
		}
		var db database
		if err := json.NewDecoder(inner).Decode(&db); err != nil {
			return nil, fmt.Errorf("decode db.json: %w", err)
		}
		return &db, nil
	}
}

func kindSuffix(t typeRef) string {
	switch t.Type {
	case "integer", "number":
		return "#"
	case "boolean":
		return "?"
	case "array":
		return "[]"
	case "ref", "map", "json":
		return "{}"
	}
	return ""
}

// serviceOf is "AWS::ECR" for "AWS::ECR::Repository".
func serviceOf(typ string) string {
	if i := strings.LastIndex(typ, "::"); i > 0 {
		return typ[:i]
	}
	return typ
}

// arnPrefix is an ARN template up to the resource part:
// "arn:${Partition}:ecr:${Region}:${Account}:".
func arnPrefix(tmpl string) string {
	parts := strings.SplitN(tmpl, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return strings.Join(parts[:5], ":") + ":"
}

func table(db *database) string {
	var types []string
	rows := map[string]string{}
	prefixes := map[string]map[string]int{}
	for _, e := range db.Schema.Resource.Entities {
		// Types a transform expands (AWS::Serverless::*) are not resource types
		// CloudFormation itself knows.
		if e.Transform != "" {
			continue
		}
		ids := e.CfnRefIdentifier
		if len(ids) == 0 {
			ids = e.PrimaryIdentifier
		}
		attrs := make([]string, 0, len(e.Attributes))
		for name, a := range e.Attributes {
			attrs = append(attrs, name+kindSuffix(a.Type))
		}
		sort.Strings(attrs)
		types = append(types, e.CloudFormationType)
		rows[e.CloudFormationType] = strings.Join([]string{e.CloudFormationType, e.ARNTemplate, strings.Join(ids, ","), strings.Join(attrs, ",")}, "\t")
		if p := arnPrefix(e.ARNTemplate); p != "" {
			svc := serviceOf(e.CloudFormationType)
			if prefixes[svc] == nil {
				prefixes[svc] = map[string]int{}
			}
			prefixes[svc][p]++
		}
	}
	var b strings.Builder
	for _, svc := range slices.Sorted(maps.Keys(prefixes)) {
		// The service's most common prefix; on a tie, the one whose ARN
		// service is the namespace's own name (ecr, not ecr-public), then a
		// regional one.
		own := strings.ToLower(svc[strings.LastIndex(svc, ":")+1:])
		score := func(p string) [3]int {
			s := [3]int{prefixes[svc][p], 0, 0}
			if strings.Split(p, ":")[2] == own {
				s[1] = 1
			}
			if strings.Contains(p, "${Region}") {
				s[2] = 1
			}
			return s
		}
		best := ""
		for _, p := range slices.Sorted(maps.Keys(prefixes[svc])) {
			if best == "" || less(score(best), score(p)) {
				best = p
			}
		}
		fmt.Fprintf(&b, "%s\t%s\n", svc, best)
	}
	sort.Strings(types)
	for _, t := range types {
		b.WriteString(rows[t])
		b.WriteByte('\n')
	}
	return b.String()
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
