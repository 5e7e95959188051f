# Element-wise kernels (activations, losses, optimizer steps): to be written.
