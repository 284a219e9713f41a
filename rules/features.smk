# Hand-crafted features for the baselines: the 128 EDA features of every trial (per dataset) and
# the 6,373 openSMILE ComParE_2016 functionals of every PMEmo song (per song, then merged).
# Package code: edaffect.signal.eda_features, edaffect.signal.music.  Definitions: docs/features.md.


ALL_TARGETS.extend(expand("results/{dataset}/eda_features.csv", dataset=DATASETS))
if MUSIC_DATASET in DATASETS:
    ALL_TARGETS.append(f"results/{MUSIC_DATASET}/music_features.csv")


rule eda_features:
    input:
        unpack(features_eda_inputs),
    output:
        features="results/{dataset}/eda_features.csv",
        excluded="results/{dataset}/eda_features_excluded.csv",
    params:
        options=FEATURES_OPTIONS,
        preprocessing=config["preprocessing"],
        cache_dir="results/{dataset}/cache",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    log:
        "results/logs/eda_features/{dataset}.log",
    benchmark:
        "results/benchmarks/eda_features/{dataset}.tsv"
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/eda_features.py"


rule music_song:
    input:
        audio=features_song_audio,
    output:
        csv=f"results/{MUSIC_DATASET}/music/{{stimulus}}.csv",
    wildcard_constraints:
        stimulus=r"[A-Za-z0-9_\-]+",
    params:
        min_audio_s=config["baselines"]["music"]["min_audio_s"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "results/logs/music_song/{stimulus}.log",
    benchmark:
        "results/benchmarks/music_song/{stimulus}.tsv"
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/music_song.py"


rule music_features:
    input:
        unpack(features_music_inputs),
    output:
        csv=f"results/{MUSIC_DATASET}/music_features.csv",
    params:
        root=music_root,
    resources:
        mem_mb=4000,
        runtime=20,
    log:
        f"results/logs/music_features/{MUSIC_DATASET}.log",
    conda:
        "../envs/edaffect.yaml"
    script:
        "../workflow_scripts/music_features.py"
