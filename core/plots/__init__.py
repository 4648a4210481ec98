"""Pictures and plotly figures for the pages. Pure functions: arrays in, images and figures out.

- :mod:`~core.plots.pictures`: uint8 RGB pictures (colour maps, enlargement, boxes, montages, heat overlays, kernels).
- :mod:`~core.plots.grids`: number grids, small heatmaps with each cell's number written in it (Learn).
- :mod:`~core.plots.style`: what every chart shares (palette, decimal marks, projector layout, toolbar).
- :mod:`~core.plots.curves`: learning curves of several runs on one chart.
- :mod:`~core.plots.architecture`: the model diagram, one block per layer.
- :mod:`~core.plots.results`: class probabilities, the confusion matrix, a regression's predictions and residuals.
- :mod:`~core.plots.race`: accuracy against wall-clock seconds (the API comparison, the architecture race).
"""
