//! v2 pages (read-only): the PageBulk fields, cursor paging, the space filter, and the
//! `POST /_sim/pages` hook that writes a page as a given person.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{body, sim};

#[tokio::test]
async fn v2_pages_list_by_space_with_cursor_and_keep_their_author() {
    let s = sim().await;
    let st = s.state().await;
    let admin = st["users"][0]["accountId"].as_str().unwrap().to_string();
    let space_id = |key: &str| {
        st["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == key)
            .map(|x| x["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (hr, it) = (space_id("HR"), space_id("IT"));
    let hook = format!("{}/_sim/pages", s.run.url());
    for (key, title) in [("HR", "Policies"), ("HR", "Holidays"), ("IT", "Laptops")] {
        let r = s
            .http
            .post(&hook)
            .json(&json!({"spaceKey": key, "title": title, "authorAccountId": admin}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    for bad in [
        json!({"spaceKey": "NOPE", "title": "x", "authorAccountId": admin}),
        json!({"spaceKey": "HR", "title": "x", "authorAccountId": "557058:nobody"}),
        json!({"spaceKey": "HR"}),
    ] {
        let r = s.http.post(&hook).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // Space filter and one-per-page cursor paging.
    let mut next = Some(format!("/wiki/api/v2/pages?space-id={hr}&limit=1"));
    let mut titles = Vec::new();
    while let Some(path) = next {
        let (status, p) = body(s.wiki(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let page = &p["results"][0];
        for field in [
            "id",
            "status",
            "title",
            "spaceId",
            "authorId",
            "ownerId",
            "createdAt",
        ] {
            assert!(page[field].is_string(), "{field} in {page}");
        }
        assert_eq!(page["spaceId"], hr.as_str());
        assert_eq!(page["authorId"], admin.as_str());
        assert_eq!(page["version"]["number"], 1);
        titles.push(page["title"].as_str().unwrap().to_string());
        next = p["_links"]["next"].as_str().map(String::from);
    }
    assert_eq!(titles, ["Policies", "Holidays"]);

    let (status, p) = body(
        s.wiki(Method::GET, &format!("/wiki/api/v2/spaces/{it}/pages"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let results: Vec<&Value> = p["results"].as_array().unwrap().iter().collect();
    assert_eq!(results.len(), 1);
    let id = results[0]["id"].as_str().unwrap().to_string();
    let (status, one) = body(
        s.wiki(Method::GET, &format!("/wiki/api/v2/pages/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["title"], "Laptops");
    let (status, _) = body(
        s.wiki(Method::GET, "/wiki/api/v2/pages/424242")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = s
        .http
        .get(format!("{}/wiki/api/v2/pages", s.info("site_url")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "pages need auth");
}
