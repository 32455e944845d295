// Package config parses the agent's YAML resource file into an engine graph.
//
// The file is a list of resources:
//
//   - kind: file
//     name: /etc/motd
//     content: "managed by rackboot\n"
//     mode: "0644"
//     meta: {retry: 3, delay: 2s}
//     require: [pkg:base-files]
//     notify: [exec:motd-reload]
//
// kind, name, meta, require and notify are common to every resource; every
// other key is a parameter of the kind. Every mistake (unknown kind or
// parameter, wrong type, dangling reference, duplicate, cycle) is reported
// with its line and column, the resource and the field.
package config
