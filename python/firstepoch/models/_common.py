"""What the torchvision-layout models share."""


def check_no_weights(name, weights):
    """torchvision's builders download pretrained numbers for weights=...; firstepoch downloads nothing."""
    if weights is not None:
        raise ValueError(f"{name}: weights must be None, got {weights!r}: firstepoch downloads no weights; build the "
                         f"model and load torchvision's numbers with model.load_state_dict(state_dict)")
