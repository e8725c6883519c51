package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// units are the units the embedded metric format accepts.
var units = map[string]bool{"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true,
	"Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true,
	"Gigabytes/Second": true, "Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true}

// Validate checks one log line against the embedded metric format's
// specification (its JSON schema and the rules that go with it): an _aws
// object with an integer Timestamp in milliseconds and 1 to 100 metric
// directives, each with a namespace of 1 to 255 characters, dimension sets
// of at most 30 names that the line carries as strings, and metrics that the
// line carries as numbers (or arrays of at most 100 numbers).
func Validate(line []byte) error {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         *json.Number `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	raw, ok := root["_aws"]
	if !ok {
		return errors.New("no _aws member")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&meta); err != nil {
		return fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil {
		return errors.New("_aws.Timestamp is missing")
	}
	if ms, err := meta.Timestamp.Int64(); err != nil || ms < 0 {
		return fmt.Errorf("_aws.Timestamp %s is not milliseconds since the epoch", *meta.Timestamp)
	}
	if n := len(meta.CloudWatchMetrics); n < 1 || n > 100 {
		return fmt.Errorf("%d metric directives, want 1 to 100", n)
	}
	for _, d := range meta.CloudWatchMetrics {
		if len(d.Namespace) < 1 || len(d.Namespace) > 255 {
			return fmt.Errorf("namespace %q", d.Namespace)
		}
		for _, set := range d.Dimensions {
			if len(set) > 30 {
				return fmt.Errorf("a dimension set of %d names, want at most 30", len(set))
			}
			for _, name := range set {
				var v string
				if err := json.Unmarshal(root[name], &v); err != nil {
					return fmt.Errorf("dimension %q is not a string member of the line", name)
				}
			}
		}
		if n := len(d.Metrics); n < 1 || n > 100 {
			return fmt.Errorf("%d metrics, want 1 to 100", n)
		}
		for _, m := range d.Metrics {
			if len(m.Name) < 1 || len(m.Name) > 255 || (m.Unit != "" && !units[m.Unit]) {
				return fmt.Errorf("metric %q unit %q", m.Name, m.Unit)
			}
			var one float64
			var many []float64
			if json.Unmarshal(root[m.Name], &one) != nil && (json.Unmarshal(root[m.Name], &many) != nil || len(many) > 100) {
				return fmt.Errorf("metric %q has no numeric value on the line", m.Name)
			}
		}
	}
	return nil
}
