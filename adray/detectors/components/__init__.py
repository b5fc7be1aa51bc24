"""Building blocks that several detectors share; each detector module imports what it needs from here.

- :mod:`.keras_like`: PyTorch layers, initialisation, Adam and binary cross-entropy with the Keras
  defaults of the seed code, plus input standardisation and the [0, 1] check of BCE-trained inputs;
- :mod:`.autoencoders`: the seeds' dense autoencoder and its hidden-width rule;
- :mod:`.baseline_networks`: layouts and helpers of the external baselines (DAGMM, GradCon, ...);
- :mod:`.taps`: activation taps, alarm networks and counter-example noise (A3, ARGUE, R2-AD2);
- :mod:`.svdd`: the networks, losses and two-stage training shared by Deep-SVDD and Deep-SAD;
- :mod:`.constraints`: the rules a hyperparameter table is written in, and the one check that ``fit``
  and the sweep both call.

The contract (:mod:`adray.detectors.base`) and the PyTorch template
(:mod:`adray.detectors.torch_template`) stay next to the methods: they are what a method, or a
plug-in outside adray, subclasses.
"""
