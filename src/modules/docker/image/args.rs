//! `docker_image`'s arguments, with the checks community.docker makes before it looks
//! at the daemon, and the `docker build` command its `build` options make.

use serde_json::{Map, Value as Json};

use super::super::reference::{is_image_id, is_valid_tag, join, split_tag};
use super::super::{pair_flags, string_map, sub_options};
use crate::connection::quote;
use crate::modules::typed::{Rules, arg_enum, module_args};

arg_enum! {
    /// Where a missing image comes from.
    pub enum Source {
        /// `docker build` of a context on the target.
        Build = "build",
        /// `docker load` of an image archive.
        Load = "load",
        /// `docker pull` from a registry.
        Pull = "pull",
        /// Nowhere: the image must already exist.
        Local = "local",
    }
}

arg_enum! {
    /// Whether the image should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// The sub-options of `build.container_limits`.
    pub struct ContainerLimits {
        memory: Option<String>,
        memswap: Option<String>,
        cpushares: Option<i64>,
        cpusetcpus: Option<String>,
    }
}

module_args! {
    /// The sub-options of `build`.
    pub struct BuildArgs {
        /// The build context on the target.
        path: String => .required(),
        dockerfile: Option<String>,
        /// `--build-arg`s.
        args: Option<Map<String, Json>>,
        nocache: bool => .default_bool(false),
        /// Whether to pull a newer `FROM` image.
        pull: bool => .default_bool(false),
        /// Whether intermediate containers are removed.
        rm: bool => .default_bool(true),
        /// The stage to build.
        target: Option<String>,
        /// The network of `RUN` instructions.
        network: Option<String>,
        /// Images to use as cache sources.
        cache_from: Option<Vec<String>>,
        /// Host names and addresses added to `/etc/hosts` while building.
        etc_hosts: Option<Map<String, Json>>,
        /// The platform to build for (`os[/arch[/variant]]`).
        platform: Option<String>,
        /// The size of `/dev/shm` (`64M`).
        shm_size: Option<String>,
        /// Labels of the image.
        labels: Option<Map<String, Json>>,
        container_limits: Option<Map<String, Json>> => .options(ContainerLimits::PARAMS),
    }
}

module_args! {
    /// The sub-options of `pull`.
    pub struct PullArgs {
        /// The platform to ask the registry for.
        platform: Option<String>,
    }
}

module_args! {
    /// `docker_image`'s arguments.
    pub struct ImageArgs {
        /// The repository, with or without a tag, or an image ID.
        name: String => .required(),
        /// The tag when `name` has none.
        tag: String => .default_str("latest"),
        /// Where a missing image comes from.
        source: Option<Source>,
        /// The archive `load` reads.
        load_path: Option<String>,
        build: Option<Map<String, Json>> => .options(BuildArgs::PARAMS),
        pull: Option<Map<String, Json>> => .options(PullArgs::PARAMS),
        /// Where to save the image as a `.tar` archive.
        archive_path: Option<String>,
        /// Whether to build, load or pull again although the image exists.
        force_source: bool => .default_bool(false),
        /// Whether `state: absent` removes an image other tags or containers use.
        force_absent: bool => .default_bool(false),
        /// Whether to tag `repository` again although it exists.
        force_tag: bool => .default_bool(false),
        /// Whether to push the image (to `repository` when given).
        push: bool => .default_bool(false),
        /// Another name (`repository[:tag]`) to tag the image with.
        repository: Option<String>,
        state: State => .default_str("present"),
    }
    rules: Rules {
        required_if: &[
            ("state", "present", &["source"]),
            ("source", "build", &["build"]),
            ("source", "load", &["load_path"]),
        ],
        ..Rules::NONE
    };
}

/// The image a task names, once its tag is settled: a tag in `name` wins over `tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// The repository, or the image ID.
    pub name: String,
    /// The tag (or digest); meaningless for an ID.
    pub tag: String,
}

impl Named {
    /// Whether the name is an image ID.
    pub fn is_id(&self) -> bool {
        is_image_id(&self.name)
    }

    /// What `docker` is given to find the image: the ID, or `name:tag`.
    pub fn reference(&self) -> String {
        if self.is_id() {
            self.name.clone()
        } else {
            join(&self.name, &self.tag)
        }
    }

    /// The image as messages name it: like [`Named::reference`], with `:` always.
    pub fn shown(&self) -> String {
        if self.is_id() {
            self.name.clone()
        } else {
            format!("{}:{}", self.name, self.tag)
        }
    }
}

impl ImageArgs {
    /// The image named, after community.docker's checks on the names given.
    pub fn named(&self) -> Result<Named, String> {
        if !is_valid_tag(&self.tag, true) {
            return Err(format!("\"{}\" is not a valid docker tag!", self.tag));
        }
        let mut named = Named {
            name: self.name.clone(),
            tag: self.tag.clone(),
        };
        if !named.is_id()
            && let (repo, Some(tag)) = split_tag(&self.name)
        {
            named = Named {
                name: repo.to_string(),
                tag: tag.to_string(),
            };
        }
        if let Some(repository) = &self.repository
            && is_image_id(repository)
        {
            return Err(format!(
                "`repository` must not be an image ID; got: {repository}"
            ));
        }
        if self.repository.is_none() && self.push && named.is_id() {
            return Err(format!(
                "Cannot push an image by ID; specify `repository` to tag and push the image with ID {} instead",
                named.name
            ));
        }
        Ok(named)
    }

    /// `repository` split into its name and tag (the image's tag when it gives none).
    pub fn target(&self, named: &Named) -> Option<Named> {
        self.repository.as_ref().map(|repository| {
            let (repo, tag) = split_tag(repository);
            Named {
                name: repo.to_string(),
                tag: tag.unwrap_or(&named.tag).to_string(),
            }
        })
    }

    /// Where a missing image comes from (`source` is required with `present`).
    pub fn source(&self) -> Source {
        self.source.unwrap_or(Source::Local)
    }

    /// The build options, read.
    pub fn build(&self) -> Result<Option<BuildArgs>, String> {
        self.build
            .as_ref()
            .map(|build| sub_options("build", &Json::Object(build.clone())))
            .transpose()
    }

    /// The platform `pull.platform` asks for.
    pub fn pull_platform(&self) -> Result<Option<String>, String> {
        let Some(pull) = &self.pull else {
            return Ok(None);
        };
        let pull: PullArgs = sub_options("pull", &Json::Object(pull.clone()))?;
        Ok(pull.platform)
    }

    /// The archive `source: load` reads.
    pub fn load_path(&self) -> Option<&str> {
        self.load_path.as_deref()
    }

    /// The archive to save the image to.
    pub fn archive_path(&self) -> Option<&str> {
        self.archive_path.as_deref()
    }

    /// Whether to make the image again although it exists.
    pub fn force_source(&self) -> bool {
        self.force_source
    }

    /// Whether `state: absent` forces the removal.
    pub fn force_absent(&self) -> bool {
        self.force_absent
    }

    /// Whether to tag `repository` again although it exists.
    pub fn force_tag(&self) -> bool {
        self.force_tag
    }

    /// Whether to push.
    pub fn push(&self) -> bool {
        self.push
    }

    /// Whether the image should exist.
    pub fn state(&self) -> State {
        self.state
    }
}

impl BuildArgs {
    /// The build context.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `docker build` command line that tags the image `image`.
    pub fn command(&self, image: &str) -> Result<String, String> {
        let mut cmd = format!("docker build -t {}", quote(image));
        if let Some(dockerfile) = &self.dockerfile {
            cmd.push_str(&format!(" -f {}", quote(dockerfile)));
        }
        if let Some(build_args) = string_map("args", self.args.as_ref())? {
            cmd.push_str(&pair_flags("--build-arg", &build_args));
        }
        if self.nocache {
            cmd.push_str(" --no-cache");
        }
        if self.pull {
            cmd.push_str(" --pull");
        }
        if !self.rm {
            cmd.push_str(" --rm=false");
        } else {
            cmd.push_str(" --force-rm");
        }
        for (flag, value) in [
            ("--target", &self.target),
            ("--network", &self.network),
            ("--platform", &self.platform),
            ("--shm-size", &self.shm_size),
        ] {
            if let Some(value) = value {
                cmd.push_str(&format!(" {flag} {}", quote(value)));
            }
        }
        for image in self.cache_from.iter().flatten() {
            cmd.push_str(&format!(" --cache-from {}", quote(image)));
        }
        if let Some(hosts) = string_map("etc_hosts", self.etc_hosts.as_ref())? {
            for (host, address) in hosts {
                cmd.push_str(&format!(
                    " --add-host {}",
                    quote(&format!("{host}:{address}"))
                ));
            }
        }
        if let Some(labels) = string_map("labels", self.labels.as_ref())? {
            cmd.push_str(&pair_flags("--label", &labels));
        }
        if let Some(limits) = &self.container_limits {
            let limits: ContainerLimits =
                sub_options("container_limits", &Json::Object(limits.clone()))?;
            for (flag, value) in [
                ("--memory", limits.memory),
                ("--memory-swap", limits.memswap),
                ("--cpu-shares", limits.cpushares.map(|n| n.to_string())),
                ("--cpuset-cpus", limits.cpusetcpus),
            ] {
                if let Some(value) = value {
                    cmd.push_str(&format!(" {flag} {}", quote(&value)));
                }
            }
        }
        cmd.push_str(&format!(" {}", quote(&self.path)));
        Ok(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Args;
    use crate::modules::typed::{TypedArgs, from_json};
    use indexmap::IndexMap;
    use serde_json::json;

    fn args(value: Json) -> Result<ImageArgs, String> {
        from_json(value)
    }

    #[test]
    fn names_tags_and_repositories_are_read_as_the_collection_reads_them() {
        let named = |v: Json| args(v).and_then(|a| a.named());
        let task = json!({"name": "busybox:2", "tag": "1", "source": "local"});
        assert_eq!(
            named(task).map(|n| n.reference()).as_deref(),
            Ok("busybox:2"),
            "a tag in the name wins"
        );
        let task = json!({"name": "reg:5000/app", "source": "local"});
        assert_eq!(
            named(task).map(|n| n.reference()).as_deref(),
            Ok("reg:5000/app:latest")
        );
        let task = json!({"name": "app@sha256:abc", "source": "local"});
        assert_eq!(
            named(task).map(|n| n.reference()).as_deref(),
            Ok("app@sha256:abc")
        );
        let id = format!("sha256:{}", "0".repeat(64));
        let task = json!({"name": id, "source": "local", "push": true});
        assert_eq!(
            named(task),
            Err(format!(
                "Cannot push an image by ID; specify `repository` to tag and push the image with ID {id} instead"
            ))
        );
        let task = json!({"name": "x", "source": "local", "repository": id});
        assert_eq!(
            named(task),
            Err(format!("`repository` must not be an image ID; got: {id}"))
        );
        let task = json!({"name": "x", "source": "local", "tag": "-bad"});
        assert_eq!(
            named(task),
            Err("\"-bad\" is not a valid docker tag!".to_string())
        );
        let task = json!({"name": "x", "tag": "7", "source": "local", "repository": "r:5000/y"});
        let task = args(task).expect("valid");
        assert_eq!(
            task.target(&task.named().expect("named")),
            Some(Named {
                name: "r:5000/y".into(),
                tag: "7".into()
            })
        );
    }

    #[test]
    fn required_arguments_in_the_collections_words() {
        assert_eq!(
            args(json!({"name": "x"})).expect_err("no source"),
            "state is present but all of the following are missing: source"
        );
        assert_eq!(
            args(json!({"name": "x", "source": "load"})).expect_err("no path"),
            "source is load but all of the following are missing: load_path"
        );
        assert!(args(json!({"name": "x", "state": "absent"})).is_ok());
        let bad: IndexMap<String, Json> =
            serde_json::from_value(json!({"name": "x", "source": "build", "build": {"pth": "/"}}))
                .expect("a mapping");
        let err = Args::parse(ImageArgs::PARAMS, &bad).expect_err("bad build");
        assert!(
            err.starts_with("build: Unsupported parameters: pth."),
            "{err}"
        );
        let import = args(json!({"name": "x", "source": "import"}));
        assert!(
            import.expect_err("no import").contains("import"),
            "refused as community.docker refuses it"
        );
    }

    #[test]
    fn build_options_become_quoted_flags() {
        let task = args(json!({
            "name": "x", "source": "build",
            "build": {
                "path": "/src dir", "dockerfile": "D", "args": {"V": 1}, "nocache": "yes",
                "platform": "linux/amd64", "etc_hosts": {"db": "10.0.0.2"},
                "container_limits": {"memory": "64m"}, "labels": {"a": "b"}
            }
        }))
        .expect("valid");
        let build = task.build().expect("readable").expect("given");
        assert_eq!(
            build.command("x:latest").expect("a command"),
            "docker build -t x:latest -f D --build-arg V=1 --no-cache --force-rm --platform linux/amd64 --add-host db:10.0.0.2 --label a=b --memory 64m '/src dir'"
        );
    }
}
