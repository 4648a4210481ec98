"""Who may do what, and how much: the presenter and the audience, rate limits and quotas."""
