// Package server is standin's API layer: the gRPC services of
// proto/standin/v1, the same services over REST through an in-process
// grpc-gateway mux, Fivetran's response envelope and error mapping, HTTP
// Basic authentication, and health. It maps protobuf to and from the
// emitter (internal/emit) and the sync simulator (internal/simulate), which
// have no protobuf in them. A whole process, store and workers included, is
// built by the composition root, server/app.
//
// The facts about Fivetran and Portable it emulates, their sources, and the
// default and switch of each uncertain one, are in the repository's
// docs/fidelity.md.
//
// # REST
//
// Fivetran's webhook management API is served under /v1 and is meant to be
// byte-compatible with it:
//
//	POST   /v1/webhooks/account           create an account webhook
//	POST   /v1/webhooks/group/{group_id}  create a group webhook
//	GET    /v1/webhooks?cursor=&limit=    list webhooks (limit 1..1000, default 100)
//	GET    /v1/webhooks/{id}              get a webhook
//	PATCH  /v1/webhooks/{id}              change the given fields
//	DELETE /v1/webhooks/{id}              delete a webhook
//	POST   /v1/webhooks/{id}/test         send a test event now
//
// Every response is Fivetran's envelope {"code":"Success","message":…,
// "data":…}, compact, with snake_case keys in a fixed order. Webhook
// timestamps are RFC 3339 UTC with exactly three fractional digits, the
// secret is always "******", and created_by is CreatedBy ("_standin").
// Creating an active webhook, or activating one, first POSTs Fivetran's
// test_event to its URL (signed like a delivery) and refuses with 400 when
// the receiver does not accept it; APIConfig.SkipURLCheck
// (app.Config.SkipURLCheck) turns that off, and Portable webhooks are never
// checked (Portable has no URL check). A
// group webhook needs a registered group (404 NotFound_Group otherwise).
// Duplicate event names in a request are dropped (the first is kept) rather
// than refused.
//
// Fivetran's group and connection calls are served too, backed by the sync
// simulator's registry (connection routes under both /v1/connections and
// the older /v1/connectors); the calls that start work emit the events
// Fivetran would (see internal/simulate and README.md):
//
//	GET   /v1/groups, /v1/groups/{id}, /v1/groups/{id}/connections[?schema=]
//	GET   /v1/connections[?group_id=&schema=], /v1/connections/{id}
//	POST  /v1/connections/{id}/sync     force_update_connector?, sync_start, sync_end later
//	POST  /v1/connections/{id}/force    as sync with force
//	POST  /v1/connections/{id}/resync   resync_connector, sync_start, sync_end later
//	POST  /v1/connections/{id}/schemas/{schema}/tables/{table}/resync
//	POST  /v1/connections/{id}/schemas/tables/resync   {"<schema>":["t1",…]}
//	                                    resync_table per table, sync_start, sync_end later
//	PATCH /v1/connections/{id}          edit_connector?, pause_connector | resume_connector
//
// standin's own emulator API is served under /standin/v1 (never under /v1):
//
//	POST /standin/v1/events            emit an event to every subscribed webhook
//	POST /standin/v1/events:batch      emit 1 to MaxEmitBatch events, all or nothing
//	GET  /standin/v1/deliveries        the delivery log, newest first
//	GET  /standin/v1/deliveries/{id}   one delivery with its event, body and attempts
//	POST /standin/v1/groups            register a group (also GET: list)
//	POST /standin/v1/connections       register a connection (also GET: list)
//	POST /standin/v1/connections/{id}/sync         a sync with a chosen outcome
//	POST /standin/v1/portable/flows/{flow_id}/run  a Portable flow run
//	GET  /standin/v1/openapi.json      the OpenAPI 2.0 document of all routes
//	GET  /standin/v1/stats             counts: events, deliveries by state, attempts, webhooks, River jobs
//	GET  /standin/v1/stream            server-sent events of changes (new events, delivery states)
//	POST /standin/v1/checks            run the receiver check: {"webhook_id":…} or {"url","secret","profile","signing"}, plus "events", "timeout"
//	GET  /standin/v1/checks/{id}       a stored check report
//	GET  /metrics                      Prometheus metrics (the counts of /standin/v1/stats and more)
//	GET  /, /ui/…                      the web inspector
//	GET  /healthz                      health (never authenticated)
//
// Webhooks also carry emulator extensions that Fivetran does not have,
// profile ("fivetran" or "portable"), signing (see delivery.Signing) and
// faults (misbehaviour asked on purpose, see delivery.Faults; emits and
// simulated syncs take their own), accepted on create and update, and the
// read-only disabled_reason (set when
// the worker deactivates a webhook that failed for 3 emulated days); they
// appear in responses only when they differ from the default.
//
// # Errors
//
// Errors use the same envelope without data. Fivetran publishes InvalidInput
// (400) and NotFound_<Entity> (404); the others are standin's choices, as
// Fivetran publishes none for those cases:
//
//	400 InvalidInput        bad field, query parameter, cursor or JSON; failed URL check
//	401 Unauthorized        missing, malformed or wrong API key and secret (with WWW-Authenticate)
//	404 NotFound_Webhook    unknown webhook id (NotFound_Delivery, NotFound_Event,
//	                        NotFound_Group, NotFound_Connector likewise)
//	404 NotFound            unknown path
//	405 MethodNotAllowed    known path, other method
//	409 Conflict            a store conflict, or a state that forbids the call
//	413 InvalidInput        a request body over 1 MiB (MaxBodyBytes)
//	415 InvalidInput        a body whose Content-Type is not JSON
//	500 InternalError       anything else; the message never carries details
//
// The API reads JSON only: a request body is refused with 415 unless its
// Content-Type is application/json or application/*+json (parameters such
// as charset allowed), or absent. Webhook URLs are at most MaxURLLength
// (2048) bytes and group ids at most MaxGroupIDLength (256); a refused
// request changes nothing.
//
// Over gRPC the same errors are statuses (InvalidArgument, Unauthenticated,
// NotFound, AlreadyExists, ResourceExhausted, Internal) with a
// google.rpc.ErrorInfo whose Reason is the envelope code; a request message
// over MaxBodyBytes fails with ResourceExhausted.
//
// # Authentication
//
// When APIConfig.APIKey and APISecret are set, every REST path except
// /healthz (the emulator API and the OpenAPI document included) requires
// HTTP Basic authentication with them, and every gRPC call except health
// and reflection requires "authorization: Basic …" metadata; those two stay
// open so that probes and grpcurl's discovery work without the secret. The
// key and secret are compared in constant time (as SHA-256 digests). The
// API secret and webhook secrets never appear in responses, logs or errors.
package server
