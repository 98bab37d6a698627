"""Everything about talking to the daprd sidecar, in both directions.

The service to daprd:

- ``http_client``: the pooled HTTP connections to daprd's API (two pools, see there)
  and the SDK's actor client interface over them, which the actor runtime uses for its
  state, reminder and timer calls;
- ``sidecar``: publish (one message or a bulk), health, metadata, reminder look-ups;
- ``actor_gateway``: calls into StudentProgressActor and ClassProgressActor.

daprd to the service:

- ``actor_host``: the actor types this process hosts, registered with the SDK's actor
  runtime, and its serializer that hands ``ApplyEventBatch`` its body undecoded;
- ``callbacks``: actor method calls and bulk deliveries, answered before the FastAPI
  stack (decision 007);
- ``subscriptions``: the list daprd reads from /dapr/subscribe;
- ``app_token``: daprd's app API token on every route daprd calls.
"""
