package installer

import (
	"path/filepath"
	"strings"
)

// placeholders are strings vendors leave in DMI fields they never filled; an
// empty fact is more honest than a serial every such board shares.
var placeholders = map[string]bool{
	"to be filled by o.e.m.": true,
	"default string":         true,
	"not specified":          true,
	"system serial number":   true,
	"none":                   true,
	"0":                      true,
}

// readDMI reads the system identity the kernel exports from the SMBIOS
// type 1 table. product_serial and product_uuid are readable by root only,
// which the installer is.
func readDMI(root string) (vendor, product, serial, uuid string) {
	dir := filepath.Join(root, "sys/class/dmi/id")
	field := func(name string) string {
		v := readTrim(filepath.Join(dir, name))
		if placeholders[strings.ToLower(v)] {
			return ""
		}
		return v
	}
	return field("sys_vendor"), field("product_name"), field("product_serial"),
		strings.ToLower(field("product_uuid"))
}
