package virtual

import "net/http"

// The read-only resources around the system: enough for gofish to find
// its way (service root links, Links.Sessions) and for inventory-style
// reads of Managers and Chassis to succeed.

func (s *Server) versions(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"v1": "/redfish/v1/"})
}

func (s *Server) serviceRoot(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": "/redfish/v1", "@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot",
		"Id": "RootService", "Name": "rackboot virtual BMC", "RedfishVersion": "1.6.0",
		"UUID":           "00000000-0000-0000-0000-000000000001",
		"Systems":        link("/redfish/v1/Systems"),
		"Managers":       link("/redfish/v1/Managers"),
		"Chassis":        link("/redfish/v1/Chassis"),
		"SessionService": link("/redfish/v1/SessionService"),
		"Links":          map[string]any{"Sessions": link(sessionsPath)},
	})
}

func (s *Server) managers(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, collection("/redfish/v1/Managers",
		"#ManagerCollection.ManagerCollection", "Managers", managerPath))
}

func (s *Server) manager(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": managerPath, "@odata.type": "#Manager.v1_5_0.Manager",
		"Id": "1", "Name": "rackboot virtual BMC", "ManagerType": "BMC",
		"FirmwareVersion": "rackboot-virtual", "PowerState": "On",
		"Status": map[string]string{"State": "Enabled", "Health": "OK"},
		"Links":  map[string]any{"ManagerForServers": []any{link(systemPath)}, "ManagerForChassis": []any{link(chassisPath)}},
	})
}

func (s *Server) chassisList(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, collection("/redfish/v1/Chassis",
		"#ChassisCollection.ChassisCollection", "Chassis", chassisPath))
}

func (s *Server) chassis(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": chassisPath, "@odata.type": "#Chassis.v1_10_0.Chassis",
		"Id": "1", "Name": "rackboot virtual chassis", "ChassisType": "RackMount",
		"PowerState": s.powerState(),
		"Status":     map[string]string{"State": "Enabled", "Health": "OK"},
		"Links":      map[string]any{"ComputerSystems": []any{link(systemPath)}, "ManagedBy": []any{link(managerPath)}},
	})
}
