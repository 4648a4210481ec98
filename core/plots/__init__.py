"""Pictures and plotly figures for the pages. Pure functions: arrays in, images and figures out."""
