;;; areasum.lsp -- AREASUM：统计所选多个封闭图形的面积总和
;;; 用法：加载后输入 AREASUM，选择圆、椭圆、闭合多段线、样条曲线、面域或填充；
;;; 未闭合的曲线不计入（会提示跳过的个数）。结果以图形单位的平方显示，
;;; 同时按“图形单位为毫米”换算成平方米。

(vl-load-com)

(defun c:AREASUM (/ ss i n ent obj total count skipped)
  (princ "\n选择封闭图形（圆、椭圆、闭合多段线、样条曲线、面域、填充）：")
  (if (setq ss (ssget '((0 . "CIRCLE,ELLIPSE,LWPOLYLINE,POLYLINE,SPLINE,REGION,HATCH"))))
    (progn
      (setq total   0.0
            count   0
            skipped 0
            n       (sslength ss)
            i       0
      )
      (while (< i n)
        (setq ent (ssname ss i)
              obj (vlax-ename->vla-object ent)
        )
        (if (or (member (cdr (assoc 0 (entget ent))) '("REGION" "HATCH"))
                (vlax-curve-isClosed ent)
            )
          (setq total (+ total (vla-get-Area obj))
                count (1+ count)
          )
          (setq skipped (1+ skipped))
        )
        (setq i (1+ i))
      )
      (princ (strcat "\n共 " (itoa count) " 个封闭图形，总面积 = " (rtos total 2 3)
                     "（图形单位²）；若单位为毫米 = " (rtos (/ total 1000000.0) 2 3) " 平方米"
             )
      )
      (if (> skipped 0)
        (princ (strcat "\n跳过 " (itoa skipped) " 个未闭合的对象。"))
      )
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nAREASUM 已加载：输入 AREASUM 求面积总和。")
(princ)
