"""One real Lightning fit whose CSVLogger holds validation losses logged on_step=True as well as on_epoch:
Lightning writes `val_loss_step` at the validation batch counter (0, 1, 2, ... across every validation
loop, `epoch` empty), not at a training step. Run here: `python lightning_fit.py` (lightning 2.x, torch)."""
import torch
import lightning.pytorch as pl
from lightning.pytorch.loggers import CSVLogger

torch.manual_seed(0)
x = torch.randn(512, 8)
y = (x[:, 0] + x[:, 1] > 0).long()


class M(pl.LightningModule):
    def __init__(s):
        super().__init__()
        s.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))

    def training_step(s, b, i):
        loss = torch.nn.functional.cross_entropy(s.net(b[0]), b[1])
        s.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(s, b, i):
        s.log("val_loss", torch.nn.functional.cross_entropy(s.net(b[0]), b[1]), on_step=True, on_epoch=True)

    def configure_optimizers(s):
        return torch.optim.SGD(s.parameters(), lr=0.1)


dl = lambda a, b, bs: torch.utils.data.DataLoader(torch.utils.data.TensorDataset(a, b), batch_size=bs)
pl.Trainer(max_epochs=6, logger=CSVLogger(".", name="lightning_logs"), enable_progress_bar=False, enable_model_summary=False,
           enable_checkpointing=False, log_every_n_steps=2, accelerator="cpu", devices=1).fit(
    M(), dl(x[:384], y[:384], 32), dl(x[384:], y[384:], 16))
