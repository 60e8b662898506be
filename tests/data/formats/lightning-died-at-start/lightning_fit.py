"""A real Lightning fit with its TensorBoardLogger that dies in its first training step (a shape error, as
a new script often does): the version folder holds only the hp_metric = -1 Lightning logs when a fit
starts. Run in this folder: `python lightning_fit.py` (lightning 2.x, torch, tensorboard)."""
import torch
import lightning.pytorch as pl
from lightning.pytorch.loggers import TensorBoardLogger


class M(pl.LightningModule):
    def __init__(s, lr=0.1):
        super().__init__()
        s.save_hyperparameters()
        s.net = torch.nn.Linear(8, 2)

    def training_step(s, b, i):
        return torch.nn.functional.cross_entropy(s.net(b[0].T), b[1])  # the bug: transposed input

    def configure_optimizers(s):
        return torch.optim.SGD(s.parameters(), lr=s.hparams.lr)


data = torch.utils.data.TensorDataset(torch.randn(64, 8), torch.randint(0, 2, (64,)))
try:
    pl.Trainer(max_epochs=1, logger=TensorBoardLogger(".", name="lightning_logs"), enable_progress_bar=False,
               enable_model_summary=False, enable_checkpointing=False, accelerator="cpu", devices=1).fit(
        M(), torch.utils.data.DataLoader(data, batch_size=16))
except RuntimeError as exc:
    print("died as intended:", str(exc).splitlines()[0])
