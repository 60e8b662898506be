custom_hooks = [
    dict(type='Truth'),
]
default_hooks = dict(
    checkpoint=dict(interval=1, type='CheckpointHook'),
    logger=dict(
        ignore_last=True,
        interval=5,
        log_metric_by_epoch=True,
        type='LoggerHook'))
experiment_name = 'e-resume2'
launcher = 'none'
log_processor = dict(by_epoch=True, log_with_hierarchy=False)
model = dict(type='BlobMLP')
optim_wrapper = dict(optimizer=dict(lr=0.05, momentum=0.9, type='SGD'))
randomness = dict(seed=0)
resume = False
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=1)
train_dataloader = dict(
    batch_size=32,
    collate_fn=dict(type='default_collate'),
    dataset=dict(n=600, seed=1, type='Blobs'),
    num_workers=0,
    sampler=dict(shuffle=True, type='DefaultSampler'))
val_cfg = dict()
val_dataloader = dict(
    batch_size=32,
    collate_fn=dict(type='default_collate'),
    dataset=dict(n=200, seed=2, type='Blobs'),
    num_workers=0,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(type='Accuracy')
visualizer = dict(
    type='Visualizer', vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = 'cases/e-resume2'
