// This provider's scenarios land with its adapter.
