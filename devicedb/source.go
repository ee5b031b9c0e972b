package devicedb

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// FormatV1 is the value of the format key of a version-1 source (FORMAT.md).
const FormatV1 = "adx-devicedb/1"

// GenericID is the id of the root device every fall_back chain ends at.
const GenericID = "generic"

// Source is a parsed, not yet validated, device database source. Compile
// validates it. A Source is plain data: callers may build or edit one.
type Source struct {
	Format       string       `yaml:"format"`
	Version      string       `yaml:"version"`
	Sources      string       `yaml:"sources,omitempty"`
	Capabilities []Capability `yaml:"capabilities,omitempty"`
	// BrandPrefixes maps a model-token prefix to the brand that makes
	// the devices it names ("SM-" → Samsung); the longest prefix of a
	// token, compared case-insensitively, names the brand of a device the
	// database does not list. An empty brand stops shorter prefixes.
	BrandPrefixes map[string]string `yaml:"brand_prefixes,omitempty"`
	Devices       []Device          `yaml:"devices"`
}

// Device is one source entry. Caps holds only the values that differ from
// the fall_back parent; every value is text parsed by its capability's type.
type Device struct {
	ID         string            `yaml:"id"`
	FallBack   string            `yaml:"fall_back,omitempty"`
	UserAgents []string          `yaml:"user_agents,omitempty"`
	Tokens     []string          `yaml:"tokens,omitempty"`
	Caps       map[string]string `yaml:"caps,omitempty"`
}

// ParseSource decodes a YAML source (FORMAT.md). Unknown keys are errors. It
// does not validate the devices: Compile does.
func ParseSource(data []byte) (*Source, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var src Source
	if err := dec.Decode(&src); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("cannot parse device source: empty document")
		}
		return nil, fmt.Errorf("cannot parse device source: %w", err)
	}
	if src.Format != FormatV1 {
		return nil, fmt.Errorf("cannot parse device source: format %q, want %q", src.Format, FormatV1)
	}
	return &src, nil
}

// MarshalSource encodes src as YAML that ParseSource reads back.
func MarshalSource(src *Source) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(src); err != nil {
		return nil, fmt.Errorf("cannot encode device source: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("cannot encode device source: %w", err)
	}
	return buf.Bytes(), nil
}
