package installer

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Cmdline
		err  bool
	}{
		{
			name: "full",
			in:   "BOOT_IMAGE=/vmlinuz console=ttyS0 rackboot.url=http://10.0.0.1:8081/ rackboot.mac=52:54:00:AA:bb:01 rackboot.token=t0k rackboot.mode=inspect rackboot.ip=10.0.0.2/24 rackboot.gw=10.0.0.1 quiet\n",
			want: Cmdline{URL: "http://10.0.0.1:8081", MAC: "52:54:00:aa:bb:01", Mode: "inspect",
				IP: netip.MustParsePrefix("10.0.0.2/24"), GW: netip.MustParseAddr("10.0.0.1")},
		},
		{
			name: "no mode, dhcp",
			in:   "rackboot.url=http://h:1 rackboot.token=x",
			want: Cmdline{URL: "http://h:1"},
		},
		{
			name: "deploy mode and quoted value",
			in:   `rackboot.url=http://h:1 rackboot.mode="deploy now" rackboot.token=old-scripts-gave-one`,
			want: Cmdline{URL: "http://h:1", Mode: "deploy now"},
		},
		{name: "dash MAC form", in: "rackboot.url=http://h rackboot.mac=52-54-00-00-00-01",
			want: Cmdline{URL: "http://h", MAC: "52:54:00:00:00:01"}},
		{name: "no url", in: "console=ttyS0 rackboot.token=x", err: true},
		{name: "bad url", in: "rackboot.url=ftp://h", err: true},
		{name: "bad mac", in: "rackboot.url=http://h rackboot.mac=zz", err: true},
		{name: "unknown mode is no reason to stop", in: "rackboot.url=http://h rackboot.mode=wipe",
			want: Cmdline{URL: "http://h", Mode: "wipe"}},
		{name: "bad ip", in: "rackboot.url=http://h rackboot.ip=10.0.0.2", err: true},
		{name: "ipv6 ip", in: "rackboot.url=http://h rackboot.ip=fd00::2/64", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCmdline(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseCmdlineNoURLIsSentinel(t *testing.T) {
	if _, err := ParseCmdline("console=ttyS0"); !errors.Is(err, ErrNoURL) {
		t.Fatalf("err = %v, want ErrNoURL", err)
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add("rackboot.url=http://10.0.0.1:8081 rackboot.mac=52:54:00:aa:bb:01 rackboot.ip=10.0.0.2/24")
	f.Add(`rackboot.token="x y" "`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCmdline(s)
		if err == nil && c.URL == "" {
			t.Fatal("accepted a command line without a URL")
		}
	})
}
