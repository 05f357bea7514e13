"""The MLP trained with PyTorch (the ``torch`` extra, CPU build): an own small training loop rather
than skorch, since the fitted model is kept as plain arrays anyway (``families.mlp``) and the loop
is twenty lines: Adam, mini-batches in a seeded order, the validation loss after each epoch, and
the best epoch's weights kept when ``patience`` epochs bring no improvement."""

from __future__ import annotations

from typing import Any

from sklearn.base import ClassifierMixin, RegressorMixin  # noqa: TID253 (model code only, never DAG parsing)

from airloop.families.mlp import MLP, ClassifierAnswers, RegressorAnswers


class TorchMLP(MLP):
    library = "torch"
    airloop_requires = ("torch",)
    extra = "torch"

    def _cuda(self) -> bool:
        import torch

        return bool(torch.cuda.is_available())

    def _train(self, data: Any, n_out: int, classify: bool, seed: int) -> tuple[list[Any], list[Any], int]:
        import torch
        from torch import nn

        X, Y, Xv, Yv = data
        torch.manual_seed(seed)
        device = torch.device(self.device_)
        sizes = [X.shape[1]] + [self.width] * self.layers
        layers: list[nn.Module] = []
        for n_in, n_hidden in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(self.dropout)]
        net = nn.Sequential(*layers, nn.Linear(sizes[-1], n_out)).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate, weight_decay=self.alpha)
        loss_of = nn.CrossEntropyLoss() if classify else nn.MSELoss()
        tX, tY = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)
        vX, vY = torch.from_numpy(Xv).to(device), torch.from_numpy(Yv).to(device)
        order = torch.Generator().manual_seed(seed)
        best, best_state, waited, epochs = float("inf"), None, 0, 0
        for epoch in range(self.epochs):
            net.train()
            for rows in torch.randperm(len(tX), generator=order).split(self.batch_size):
                rows = rows.to(device)
                optimizer.zero_grad()
                loss_of(net(tX[rows]), tY[rows]).backward()
                optimizer.step()
            net.eval()
            with torch.no_grad():
                loss = float(loss_of(net(vX), vY))
            epochs = epoch + 1
            if loss < best:
                best, waited = loss, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
                if waited >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        linear = [m for m in net if isinstance(m, nn.Linear)]
        weights = [m.weight.detach().cpu().numpy().T.copy() for m in linear]
        biases = [m.bias.detach().cpu().numpy().copy() for m in linear]
        return weights, biases, epochs


class TorchMLPClassifier(ClassifierMixin, ClassifierAnswers, TorchMLP):  # type: ignore[misc]
    """A PyTorch MLP classifier (softmax over the classes, cross-entropy)."""


class TorchMLPRegressor(RegressorMixin, RegressorAnswers, TorchMLP):  # type: ignore[misc]
    """A PyTorch MLP regressor (the target standardised for training, mean squared error)."""
