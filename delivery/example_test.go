package delivery_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// A Fivetran sync_end delivery, built and signed as the real sender does.
func ExampleBuild() {
	created := time.Date(2026, 5, 22, 0, 6, 8, 638_000_000, time.UTC)
	data, _ := delivery.SyncEndData(delivery.StatusFailure, "Connection refused", "", time.Time{})
	body, err := delivery.Build(delivery.ProfileFivetran, delivery.Source{
		Event:         delivery.EventSyncEnd,
		Created:       created,
		ConnectorType: "google_cloud_postgresql",
		ConnectorID:   "assimilate_seem",
		ConnectorName: "ftar_pg",
		SyncID:        "b4703f73-6315-4e22-8d7a-3bfb18b2fed2",
		GroupID:       "inappropriate_implode",
		Data:          data,
	})
	if err != nil {
		panic(err)
	}
	header, _ := delivery.Signing{}.Headers("my_webhook_secret", body, "", time.Time{})
	fmt.Println(string(body))
	fmt.Println(header.Get(delivery.HeaderFivetranSignature) != "")
	// Output:
	// {"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"inappropriate_implode","data":{"status":"FAILURE","reason":"Connection refused"}}
	// true
}

// A receiver checking X-Fivetran-Signature-256 in its handler.
func ExampleVerifyFivetran() {
	body := []byte(`{"event":"sync_start","created":"2026-05-22T00:06:08.638Z"}`)
	header, _ := delivery.Signing{}.Headers("s3cret", body, "", time.Time{})
	r := &http.Request{Header: header}

	fmt.Println(delivery.VerifyFivetran("s3cret", body, r.Header.Get("X-Fivetran-Signature-256")))
	fmt.Println(delivery.VerifyFivetran("wrong", body, r.Header.Get("X-Fivetran-Signature-256")))
	// Output:
	// true
	// false
}

// The retry offsets of Fivetran's schedule.
func ExampleSchedule_Offsets() {
	for _, off := range delivery.ScheduleFor(delivery.ProfileFivetran).Offsets() {
		fmt.Println(off)
	}
	// Output:
	// 6m0s
	// 27m36s
	// 1h45m21.6s
	// 6h25m17.76s
	// 23h13m3.936s
}
