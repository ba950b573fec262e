package live

import (
	"context"
	"time"

	"github.com/standin-dev/standin/store"
)

// Wrap returns st with its writes published to h after they succeed. The
// result is a store.Store that behaves exactly as st.
func (h *Hub) Wrap(st store.Store) store.Store { return &observed{Store: st, hub: h} }

// observed publishes the changes of the writes it passes on.
type observed struct {
	store.Store
	hub *Hub
}

func (o *observed) publishCreated(params []store.EventCreateParams, ds []*store.Delivery) {
	if o.hub.Subscribers() == 0 || (len(params) == 0 && len(ds) == 0) {
		return
	}
	cs := make([]Change, 0, len(params)+len(ds))
	for _, p := range params {
		cs = append(cs, Change{Kind: KindEvent, ID: p.Event.ID, Name: p.Event.Name})
	}
	for _, d := range ds {
		cs = append(cs, deliveryChange(d))
	}
	o.hub.Publish(cs...)
}

func deliveryChange(d *store.Delivery) Change {
	return Change{Kind: KindDelivery, ID: d.ID, State: string(d.State), EventID: d.EventID, WebhookID: d.WebhookID}
}

func (o *observed) EventCreate(ctx context.Context, p store.EventCreateParams) ([]*store.Delivery, error) {
	ds, err := o.Store.EventCreate(ctx, p)
	if err == nil {
		o.publishCreated([]store.EventCreateParams{p}, ds)
	}
	return ds, err
}

func (o *observed) EventCreateMany(ctx context.Context, ps []store.EventCreateParams) ([]*store.Delivery, error) {
	ds, err := o.Store.EventCreateMany(ctx, ps)
	if err == nil {
		o.publishCreated(ps, ds)
	}
	return ds, err
}

func (o *observed) ConnectionCreate(ctx context.Context, p store.ConnectionCreateParams) ([]*store.Delivery, error) {
	ds, err := o.Store.ConnectionCreate(ctx, p)
	if err == nil {
		o.publishCreated(p.Events, ds)
	}
	return ds, err
}

func (o *observed) ConnectionUpdate(ctx context.Context, p store.ConnectionUpdateParams) (*store.Connection, []*store.Delivery, error) {
	c, ds, err := o.Store.ConnectionUpdate(ctx, p)
	if err == nil {
		o.publishCreated(p.Events, ds)
	}
	return c, ds, err
}

func (o *observed) AttemptRecord(ctx context.Context, p store.AttemptRecordParams) (*store.Attempt, error) {
	a, err := o.Store.AttemptRecord(ctx, p)
	if err == nil {
		o.hub.recorded(a.ID)
		o.hub.Publish(Change{Kind: KindDelivery, ID: p.Attempt.DeliveryID, State: string(p.State)})
	}
	return a, err
}

func (o *observed) AttemptRecordMany(ctx context.Context, ps []store.AttemptRecordParams) ([]*store.Attempt, error) {
	as, err := o.Store.AttemptRecordMany(ctx, ps)
	for _, a := range as {
		o.hub.recorded(a.ID)
	}
	if err == nil && len(ps) > 0 && o.hub.Subscribers() > 0 {
		cs := make([]Change, len(ps))
		for i, p := range ps {
			cs[i] = Change{Kind: KindDelivery, ID: p.Attempt.DeliveryID, State: string(p.State)}
		}
		o.hub.Publish(cs...)
	}
	return as, err
}

func (o *observed) DeliveryCancel(ctx context.Context, id string, at time.Time) (*store.Delivery, error) {
	d, err := o.Store.DeliveryCancel(ctx, id, at)
	if err == nil {
		o.hub.Publish(deliveryChange(d))
	}
	return d, err
}

func (o *observed) DeliveryEnqueue(ctx context.Context, args store.DeliverArgs) error {
	err := o.Store.DeliveryEnqueue(ctx, args)
	if err == nil {
		o.hub.Publish(Change{Kind: KindDelivery, ID: args.DeliveryID})
	}
	return err
}

func (o *observed) WebhookCreate(ctx context.Context, wh *store.Webhook) error {
	err := o.Store.WebhookCreate(ctx, wh)
	if err == nil {
		o.hub.Publish(Change{Kind: KindWebhook, ID: wh.ID})
	}
	return err
}

func (o *observed) WebhookUpdate(ctx context.Context, p store.WebhookUpdateParams) (*store.Webhook, error) {
	wh, err := o.Store.WebhookUpdate(ctx, p)
	if err == nil {
		o.hub.Publish(Change{Kind: KindWebhook, ID: p.ID})
	}
	return wh, err
}

func (o *observed) WebhookDelete(ctx context.Context, id string) error {
	err := o.Store.WebhookDelete(ctx, id)
	if err == nil {
		o.hub.Publish(Change{Kind: KindWebhook, ID: id})
	}
	return err
}

func (o *observed) WebhookHealthRecord(ctx context.Context, p store.WebhookHealthParams) (*store.Webhook, error) {
	wh, err := o.Store.WebhookHealthRecord(ctx, p)
	if err == nil && wh != nil && wh.DisabledReason != "" {
		o.hub.Publish(Change{Kind: KindWebhook, ID: wh.ID})
	}
	return wh, err
}
